import ClaimGateCore
import Foundation
import Operations

/// An agreement file and every file it names (certificates, CRLs, an authorized-keys file), read
/// here for a remote gateway: the operator API replays exactly these bytes and never reads a
/// path of this machine. Keyed by the absolute paths resolved here.
struct AgreementUpload {
    /// The partner the file describes (its file name's stem when the file does not validate:
    /// the gateway then refuses it with the reason, and records the refusal).
    let partnerID: String
    let body: Body

    struct Body: Encodable {
        let agreement_file: String
        let files: [String: String]
    }

    init(_ path: String) throws {
        let files = InputFiles()
        var id: String?
        do {
            id = try AgreementLoader.load(path: path, files: files, clock: SystemClock()).0.id.rawValue
        } catch let e as ClaimGateError where e.code == .unreadableInput {
            throw e   // a file missing here: nothing to send
        } catch {
            // Any other finding is the gateway's to make (and record), from the same bytes.
        }
        partnerID = id ?? ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        body = Body(agreement_file: FileSystem.absolute(path),
                    files: files.contents.mapValues { $0.base64EncodedString() })
    }

    /// A rotation's new certificate file, read here.
    static func files(_ path: String, what: String) throws -> (path: String, files: [String: String]) {
        let bytes = try FileSystem.readInputBytes(path, what: what)
        let absolute = FileSystem.absolute(path)
        return (absolute, [absolute: Data(bytes).base64EncodedString()])
    }
}
