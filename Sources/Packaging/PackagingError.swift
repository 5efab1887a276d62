/// An error reading or writing a bundle's tar archive.
public struct PackagingError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }
        public static let archive = Code("archive")
        public static let layout = Code("layout")
        public static let document = Code("document")
        public static let io = Code("io")
    }
    public let code: Code
    public let message: String
    public let diagnostics: String?
    public let file: String
    public let line: Int

    init(_ code: Code, _ message: String, diagnostics: String? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code; self.message = message; self.diagnostics = diagnostics; self.file = file; self.line = line
    }
    public var description: String { message }
    public static func == (a: Self, b: Self) -> Bool { a.code == b.code && a.message == b.message }
    public func hash(into h: inout Hasher) { h.combine(code); h.combine(message) }
}
