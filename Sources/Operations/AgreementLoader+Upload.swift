import ClaimGateCore
import Foundation
import Yams

/// An agreement file uploaded through a form with the files it names: the form carries file
/// names only, not the folders the agreement names them in, so each file the agreement names is
/// matched to the uploaded file of the same name. Nothing is ever read from the gateway's disk
/// for a client's path.
extension AgreementLoader {
    /// The folder an uploaded agreement is taken to be in (it exists nowhere: every path under
    /// it is answered from the upload).
    public static let uploadFolder = "/upload"

    /// The files an agreement file names, as written in it: `certificates.encryption`,
    /// `trust_anchor`, `next_encryption.certificate`, `crl` and `ssh.authorized_keys_file`.
    /// Empty when the text is not YAML (the loader then says what is wrong).
    public static func namedFiles(_ text: String) -> [String] {
        guard let node = try? Yams.compose(yaml: text) else { return [] }
        let c = node["certificates"]
        let candidates = [c?["encryption"], c?["trust_anchor"], c?["next_encryption"]?["certificate"], c?["crl"],
                          node["ssh"]?["authorized_keys_file"]]
        return candidates.compactMap { $0?.string }.filter { !$0.isEmpty }
    }

    /// The agreement's path and the `InputFiles` for `addPartner`/`updatePartner` from an upload:
    /// the agreement under `uploadFolder`, and each file it names answered by the uploaded
    /// file of the same name (its last path component).
    /// - Parameters:
    ///   - name: the agreement's file name as the client gave it.
    ///   - agreement: its bytes.
    ///   - files: the other uploaded files, by the client's file name.
    public static func uploaded(agreement name: String, _ agreement: Data, files: [String: Data]) -> (path: String, files: InputFiles) {
        let path = uploadFolder + "/" + name
        var kept: [String: Data] = [FileSystem.absolute(path): agreement]
        for named in namedFiles(String(decoding: agreement, as: UTF8.self)) {
            let base = (named as NSString).lastPathComponent
            guard let data = files[base] else { continue }
            let absolute = FileSystem.absolute(named.hasPrefix("/") ? named : uploadFolder + "/" + named)
            if kept[absolute] == nil { kept[absolute] = data }
        }
        return (path, InputFiles(kept: kept, missing: "was not uploaded with the agreement: add the file it names to the upload"))
    }
}
