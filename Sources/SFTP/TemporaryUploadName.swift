/// Names clients give an upload while it is in progress, renaming it to its real name once the
/// data is through: WinSCP's `NAME.filepart`, rclone's `NAME.partial`, lftp's `.in.NAME.` with
/// `xfer:use-temp-file`, and the common `.part` and `.tmp` suffixes. An upload closed under such a
/// name is kept aside, not processed: the rename to its real name processes it under that name,
/// and one never renamed is discarded when the session ends.
public enum TemporaryUploadName {
    static let suffixes = [".filepart", ".partial", ".part", ".tmp"]

    public static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".in.") || suffixes.contains { name.hasSuffix($0) && name.count > $0.count }
    }
}
