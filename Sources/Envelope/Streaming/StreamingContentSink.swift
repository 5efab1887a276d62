/// Receives a bundle's content from `StreamingBundleOpener` while it is being decrypted, before
/// the GCM tag and the signature have verified.
///
/// The bytes are plaintext that is not yet authenticated: a sink keeps everything it makes from
/// them private (files in a private folder, under names nobody publishes) until the opener has
/// returned, and its owner throws all of it away when the opener throws.
///
/// A sink that throws from `append` gets no more bytes and no `finish`; the opener still reads,
/// decrypts and verifies the rest of the bundle, and hands the sink's error back in
/// `StreamingBundleOpener.VerifiedStream.contentError` (an envelope error, such as a bad tag, is
/// thrown instead and wins: a tampered bundle reads as tampered).
public protocol StreamingContentSink: AnyObject {
    /// The next content bytes, in order. The buffer is only valid during the call.
    func append(_ bytes: UnsafeRawBufferPointer) throws
    /// The content ended (its last byte was appended and the GCM tag verified): complete any work
    /// in flight and report what failed.
    func finish() throws
}
