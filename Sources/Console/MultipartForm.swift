/// A `multipart/form-data` form (RFC 7578) as `MultipartFormReader` read it: the text fields in
/// the order they came, and the files, each already on disk and synced.
public struct MultipartForm: Sendable {
    /// The text fields (parts without a `filename`), in order; a name may repeat.
    public var fields: [(name: String, value: String)]
    /// The file parts, in order, each written to its own new file.
    public var files: [MultipartFile]

    public init(fields: [(name: String, value: String)] = [], files: [MultipartFile] = []) {
        self.fields = fields
        self.files = files
    }

    /// The first value of field `name`, if the form has one.
    public subscript(field name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    /// Every value of field `name`, in order (a `select multiple`, repeated inputs).
    public func values(_ name: String) -> [String] {
        fields.filter { $0.name == name }.map(\.value)
    }

    /// The files uploaded through field `name`, in order.
    public func files(_ name: String) -> [MultipartFile] {
        files.filter { $0.field == name }
    }
}

/// One uploaded file: where the reader put it and what the client said about it. The client's
/// file name is metadata only (path components stripped, checked); the file on disk has a name of
/// the reader's own.
public struct MultipartFile: Sendable, Hashable {
    /// The form field's name (`documents` for `<input id="documents" name="documents" multiple>`).
    public var field: String
    /// The client's file name: its last path component, valid UTF-8 without control characters,
    /// neither `.` nor `..`.
    public var filename: String
    /// The part's `Content-Type`; `application/octet-stream` when the client gave none.
    public var contentType: String
    /// The file the reader wrote (mode 0600, in the caller's directory).
    public var path: String
    /// Its size in bytes.
    public var size: Int64

    public init(field: String, filename: String, contentType: String, path: String, size: Int64) {
        self.field = field
        self.filename = filename
        self.contentType = contentType
        self.path = path
        self.size = size
    }
}
