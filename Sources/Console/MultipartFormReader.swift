import ClaimGateCore
import Foundation
import NIOCore
import NIOPosix
import Operations

/// Reads a `multipart/form-data` request body (RFC 7578, RFC 2046 §5.1) as it arrives: text
/// fields into memory (each small), file parts straight to new files on disk, never whole in
/// memory. Memory stays at one body piece plus the boundary, whatever the files' size.
///
/// Each file goes to a new file in the caller's folder, created exclusively with mode 0600 under a
/// name of the reader's own (the client's file name is only metadata, checked), and synced
/// before `read` returns. When anything goes wrong (a malformed body, a limit passed, a body cut
/// short, the client gone) every file the reader wrote is removed and the error is a
/// `ClaimGateError` with a sentence for the operator.
public struct MultipartFormReader: Sendable {
    /// What a form may hold. Every field has a default.
    public struct Configuration: Sendable {
        /// The most bytes the whole body may have (the preamble and epilogue included).
        public var maxBodyBytes: Int64 = 512 << 20
        /// The most bytes one file may have.
        public var maxFileBytes: Int64 = 512 << 20
        /// The most files a form may carry.
        public var maxFiles = 20
        /// The most text fields a form may carry.
        public var maxFields = 200
        /// The most bytes one text field's value may have.
        public var maxFieldBytes = 64 << 10
        /// The most bytes all text fields together may have.
        public var maxFieldsTotalBytes = 1 << 20
        /// The most bytes one part's header block may have.
        public var maxHeaderBytes = 16 << 10

        public init() {}
    }

    /// The boundary (the `boundary` parameter of the body's `Content-Type`).
    public let boundary: String
    /// The folder the files go to (made, 0700, when missing).
    public let directory: String
    public let configuration: Configuration

    /// A reader for a body with this `Content-Type`.
    /// - Parameters:
    ///   - contentType: the request's `Content-Type` header (nil when it had none).
    ///   - directory: the folder for the uploaded files.
    ///   - configuration: the limits.
    /// - Throws: `invalid-argument` when the content type is not `multipart/form-data` with a
    ///   valid boundary.
    public init(contentType: String?, directory: String, configuration: Configuration = .init()) throws {
        self.init(checkedBoundary: try Self.boundary(contentType: contentType), directory: directory, configuration: configuration)
    }

    private init(checkedBoundary: String, directory: String, configuration: Configuration) {
        boundary = checkedBoundary
        self.directory = directory
        self.configuration = configuration
    }

    /// The boundary a `multipart/form-data` content type declares.
    /// - Throws: `invalid-argument` when there is none or it is not a valid boundary (RFC 2046
    ///   §5.1.1: 1 to 70 characters from `bchars`, not ending in a space).
    public static func boundary(contentType: String?) throws -> String {
        guard let contentType else {
            throw ClaimGateError(.invalidArgument, "The form has no Content-Type: send it as multipart/form-data.")
        }
        let value = try MIMEHeaderValue(parsing: contentType, what: "Content-Type")
        guard value.type == "multipart/form-data" else {
            throw ClaimGateError(.invalidArgument, "The form is \(value.type.prefix(60)), not multipart/form-data: send the upload form as multipart/form-data.")
        }
        guard let boundary = value.parameters["boundary"] else {
            throw ClaimGateError(.invalidArgument, "The form's Content-Type has no boundary: send it as multipart/form-data with a boundary parameter.")
        }
        let bchars = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ".unicodeScalars)
        guard (1...70).contains(boundary.unicodeScalars.count), boundary.unicodeScalars.allSatisfy(bchars.contains),
              boundary.last != " " else {
            throw ClaimGateError(.invalidArgument, "The form's boundary is not valid: it must be 1 to 70 letters, digits or '()+_,-./:=? and not end with a space.")
        }
        return boundary
    }

    /// Reads the whole body.
    /// - Parameters:
    ///   - body: the body's pieces (Hummingbird's `RequestBody`, or any sequence of buffers).
    ///   - blocking: the thread pool the file writes run on.
    /// - Returns: the text fields and the files, written and synced.
    /// - Throws: `invalid-argument` for a malformed or cut-short body, or one past a limit;
    ///   `io` when a file cannot be written. No file is left behind then.
    public func read<Body: AsyncSequence>(_ body: Body, blocking: NIOThreadPool = .singleton) async throws -> MultipartForm
    where Body.Element == ByteBuffer {
        let sink = MultipartFormSink(boundary: boundary, directory: directory, configuration: configuration)
        do {
            for try await piece in body {
                try Task.checkCancellation()
                try await blocking.runIfActive { try sink.consume(piece) }
            }
            return try await blocking.runIfActive { try sink.finish() }
        } catch {
            sink.discard()
            if let error = error as? ClaimGateError { throw error }
            throw ClaimGateError(.invalidArgument,
                                 "The form did not arrive whole (the connection failed or closed while it was sent): send it again.",
                                 diagnostics: String(describing: error))
        }
    }
}

/// The file name a client gave for an upload, as metadata: its last path component (after `/` or
/// `\`), refused when empty, `.` or `..`, longer than 255 bytes, or holding NUL, a control
/// character or a bidirectional override (which can disguise `evil.exe` as `exe.pdf`).
/// - Throws: `invalid-argument` naming the problem.
func clientFilename(_ raw: String) throws -> String {
    let name = String(raw.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
        .split(separator: "\\", omittingEmptySubsequences: false).last.map(String.init) ?? ""
    guard !name.isEmpty, name != ".", name != ".." else {
        throw ClaimGateError(.invalidArgument, "An uploaded file has no usable name ('\(raw.prefix(64))'): give each document a file name.")
    }
    guard name.utf8.count <= 255 else {
        throw ClaimGateError(.invalidArgument, "An uploaded file's name is longer than 255 bytes: rename it before uploading.")
    }
    let bidi: ClosedRange<UInt32> = 0x202A...0x202E, isolates: ClosedRange<UInt32> = 0x2066...0x2069
    guard !name.unicodeScalars.contains(where: {
        $0.properties.generalCategory == .control || bidi.contains($0.value) || isolates.contains($0.value)
            || $0.value == 0x2028 || $0.value == 0x2029
    }) else {
        throw ClaimGateError(.invalidArgument, "An uploaded file's name holds control or direction characters: rename it before uploading.")
    }
    return name
}

/// The reader's work for one body: the parser, the part being read, what was written. Used by one
/// task at a time (each piece in turn, on the blocking pool).
final class MultipartFormSink: @unchecked Sendable {
    private enum Part {
        case field(name: String, value: [UInt8])
        case file(MultipartFile, fd: Int32)
        /// A file input the client left empty (`filename=""` and no content, as browsers send it).
        case noFile
    }

    private var parser: MultipartParser
    private let directory: String
    private let configuration: MultipartFormReader.Configuration
    private var form = MultipartForm()
    private var part: Part?
    private var created: [String] = []
    private var bodyBytes: Int64 = 0
    private var fieldsBytes = 0
    private var parts = 0

    init(boundary: String, directory: String, configuration: MultipartFormReader.Configuration) {
        parser = MultipartParser(boundary: boundary, maxHeaderBytes: configuration.maxHeaderBytes)
        self.directory = directory
        self.configuration = configuration
    }

    func consume(_ piece: ByteBuffer) throws {
        bodyBytes += Int64(piece.readableBytes)
        guard bodyBytes <= configuration.maxBodyBytes else {
            throw ClaimGateError(.invalidArgument, "The form is larger than the \(configuration.maxBodyBytes) bytes the console accepts: send fewer or smaller documents.")
        }
        parser.append(piece)
        while let event = try parser.next() {
            switch event {
            case .partBegin(let headers): try begin(headers)
            case .data(let bytes): try content(bytes)
            case .partEnd: try end()
            }
        }
    }

    func finish() throws -> MultipartForm {
        try parser.finish()
        if let last = form.files.last { FileSystem.syncDirectory(of: last.path) }
        return form
    }

    /// Closes the file being written and removes every file written.
    func discard() {
        if case .file(_, let fd)? = part { close(fd) }
        part = nil
        for path in created { unlink(path) }
        created = []
    }

    private func begin(_ headers: [(name: String, value: String)]) throws {
        parts += 1
        guard parts <= configuration.maxFields + configuration.maxFiles else {
            throw ClaimGateError(.invalidArgument, "The form has more than \(configuration.maxFields + configuration.maxFiles) parts.")
        }
        guard let disposition = headers.first(where: { $0.name == "content-disposition" }) else {
            throw ClaimGateError(.invalidArgument, "The form is not valid: a part has no Content-Disposition header.")
        }
        let value = try MIMEHeaderValue(parsing: disposition.value, what: "Content-Disposition")
        guard value.type == "form-data", let name = value.parameters["name"], !name.isEmpty else {
            throw ClaimGateError(.invalidArgument, "The form is not valid: a part is not 'form-data' with a field name.")
        }
        guard let raw = value.parameters["filename*"] ?? value.parameters["filename"] else {
            guard form.fields.count < configuration.maxFields else {
                throw ClaimGateError(.invalidArgument, "The form has more than \(configuration.maxFields) fields.")
            }
            part = .field(name: name, value: [])
            return
        }
        if raw.isEmpty { part = .noFile; return }
        guard form.files.count < configuration.maxFiles else {
            throw ClaimGateError(.invalidArgument, "The form carries more than \(configuration.maxFiles) files: send at most \(configuration.maxFiles) documents at once.")
        }
        let filename = try clientFilename(raw)
        let contentType = headers.first(where: { $0.name == "content-type" })?.value ?? "application/octet-stream"
        if created.isEmpty { try FileSystem.makeDirectory(directory, mode: 0o700) }
        let path = directory + "/upload-" + UUID().uuidString.lowercased()
        let fd = try FileSystem.createExclusive(path, mode: 0o600)
        created.append(path)
        part = .file(MultipartFile(field: name, filename: filename, contentType: contentType, path: path, size: 0), fd: fd)
    }

    private func content(_ bytes: ByteBuffer) throws {
        switch part {
        case .field(let name, var value)?:
            guard value.count + bytes.readableBytes <= configuration.maxFieldBytes else {
                throw ClaimGateError(.invalidArgument, "The form's field '\(name.prefix(40))' is longer than \(configuration.maxFieldBytes) bytes.")
            }
            fieldsBytes += bytes.readableBytes
            guard fieldsBytes <= configuration.maxFieldsTotalBytes else {
                throw ClaimGateError(.invalidArgument, "The form's text fields hold more than \(configuration.maxFieldsTotalBytes) bytes together.")
            }
            part = nil
            value.append(contentsOf: bytes.readableBytesView)
            part = .field(name: name, value: value)
        case .file(var file, let fd)?:
            guard file.size + Int64(bytes.readableBytes) <= configuration.maxFileBytes else {
                throw ClaimGateError(.invalidArgument, "The document '\(file.filename.prefix(64))' is larger than the \(configuration.maxFileBytes) bytes one upload may carry.")
            }
            try bytes.withUnsafeReadableBytes { piece in
                var offset = 0
                while offset < piece.count {
                    let n = write(fd, piece.baseAddress! + offset, piece.count - offset)
                    guard n > 0 else {
                        if n < 0, errno == EINTR { continue }
                        throw ClaimGateError(.io, "Cannot write the uploaded document: \(String(cString: strerror(errno))). Check free disk space.")
                    }
                    offset += n
                }
            }
            file.size += Int64(bytes.readableBytes)
            part = .file(file, fd: fd)
        case .noFile?:
            throw ClaimGateError(.invalidArgument, "An uploaded file has no name: give each document a file name.")
        case nil:
            break
        }
    }

    private func end() throws {
        defer { part = nil }
        switch part {
        case .field(let name, let value)?:
            guard let text = String(validating: value, as: UTF8.self) else {
                throw ClaimGateError(.invalidArgument, "The form's field '\(name.prefix(40))' is not UTF-8 text.")
            }
            form.fields.append((name, text))
        case .file(let file, let fd)?:
            part = nil
            defer { close(fd) }
            try FileSystem.sync(fd, file.path)
            form.files.append(file)
        case .noFile?, nil:
            break
        }
    }
}
