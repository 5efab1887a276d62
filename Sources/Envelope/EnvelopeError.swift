import COpenSSL

/// An error from certificate, key or CMS handling. `message` says what is wrong and what to do;
/// `diagnostics` holds OpenSSL's error queue for the log.
public struct EnvelopeError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let unreadable = Code("unreadable")
        public static let invalidCertificate = Code("invalid-certificate")
        public static let invalidKey = Code("invalid-key")
        public static let untrusted = Code("untrusted")
        public static let keyMismatch = Code("key-mismatch")
        public static let sealFailed = Code("seal-failed")
        public static let decryptFailed = Code("decrypt-failed")
        public static let signatureInvalid = Code("signature-invalid")
        public static let io = Code("io")
    }

    public let code: Code
    public let message: String
    public let diagnostics: String?
    public let file: String
    public let line: Int

    /// Builds an error and drains OpenSSL's error queue into its diagnostics.
    init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        let queue = OpenSSLErrorQueue.drain()
        self.diagnostics = queue.isEmpty ? nil : queue
        self.file = file
        self.line = line
    }

    public var description: String { message }
    public static func == (a: Self, b: Self) -> Bool { a.code == b.code && a.message == b.message }
    public func hash(into h: inout Hasher) { h.combine(code); h.combine(message) }
}

enum OpenSSLErrorQueue {
    /// Reads and clears this thread's OpenSSL error queue.
    static func drain() -> String {
        var lines: [String] = []
        var buf = [CChar](repeating: 0, count: 256)
        var data: UnsafePointer<CChar>?
        var flags: Int32 = 0
        while case let e = ERR_get_error_all(nil, nil, nil, &data, &flags), e != 0 {
            ERR_error_string_n(e, &buf, buf.count)
            var line = String(cChars: buf)
            // Detail such as "Verify error: unsuitable certificate purpose" travels as error data.
            if flags & ERR_TXT_STRING != 0, let data { line += " (" + String(cString: data) + ")" }
            lines.append(line)
        }
        return lines.joined(separator: "; ")
    }
    static func clear() { ERR_clear_error() }
}

extension String {
    /// Decodes a NUL-terminated C character buffer.
    init(cChars buf: [CChar]) {
        let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
