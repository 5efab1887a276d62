import Foundation

/// One line of an audit export after the header.
public enum AuditRecord: Sendable, Equatable {
    case entry(AuditEntry)
    case checkpoint(AuditCheckpoint)
}

/// The first line of an audit export. Everything in it is information only: a verifier trusts
/// the audit public key it was given, never the one an export carries.
public struct AuditExportHeader: Sendable, Equatable {
    /// The export format version; this build writes and reads 1.
    public var version: Int
    /// When the export was made, in the `AuditTime` format.
    public var exported: String?
    /// The key id of the gateway's audit signing key.
    public var keyID: String?
    /// The gateway's audit public key as SPKI PEM, for reference only.
    public var publicKeyPEM: String?

    public init(version: Int = 1, exported: String? = nil, keyID: String? = nil, publicKeyPEM: String? = nil) {
        self.version = version; self.exported = exported; self.keyID = keyID; self.publicKeyPEM = publicKeyPEM
    }
}

/// The JSON Lines export of an audit log (`docs/audit-format.md`): a header line, then one line per
/// entry in sequence order, each checkpoint right after the entry it seals. UTF-8, `\n` line ends.
public enum AuditExport {
    /// The header's `type`.
    public static let fileType = "claimgate-audit-export"
    /// The format version this build writes and reads.
    public static let version = 1
    /// The checkpoint signature scheme named in the header.
    public static let checkpointScheme = AuditCheckpoint.label + "/ed25519"

    // MARK: Writing

    /// The header line, without its line end.
    public static func line(for header: AuditExportHeader) -> String {
        var w = JSONLineWriter()
        encode(header, into: &w)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    /// One record's line, without its line end.
    public static func line(for record: AuditRecord) -> String {
        var w = JSONLineWriter()
        encode(record, into: &w)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func encode(_ h: AuditExportHeader, into w: inout JSONLineWriter) {
        w.raw("{\"type\":")
        w.string(fileType)
        w.key("version"); w.integer(Int64(h.version))
        w.key("entry_hash"); w.string(AuditEntryHasher.label)
        w.key("checkpoint_signature"); w.string(checkpointScheme)
        if let v = h.exported { w.key("exported"); w.string(v) }
        if let v = h.keyID { w.key("key_id"); w.string(v) }
        if let v = h.publicKeyPEM { w.key("public_key"); w.string(v) }
        w.raw("}")
    }

    static func encode(_ record: AuditRecord, into w: inout JSONLineWriter) {
        switch record {
        case .entry(let e):
            w.raw("{\"type\":\"entry\"")
            w.key("seq"); w.integer(e.sequence)
            w.key("time"); w.string(e.time)
            w.key("actor"); w.string(e.actor)
            w.key("action"); w.string(e.action)
            w.key("outcome"); w.string(e.outcome)
            if let v = e.partnerID { w.key("partner"); w.string(v) }
            if let v = e.claimID { w.key("claim"); w.string(v) }
            if let v = e.bundleID { w.key("bundle"); w.string(v) }
            if let v = e.purpose { w.key("purpose"); w.string(v) }
            w.key("digests")
            w.raw("[")
            for (n, d) in e.documentDigests.enumerated() {
                if n > 0 { w.raw(",") }
                w.string(d)
            }
            w.raw("]")
            if let v = e.bytes { w.key("bytes"); w.integer(v) }
            if let v = e.reason { w.key("reason"); w.string(v) }
            w.key("transport"); w.string(e.transport)
            if let v = e.clientAddress { w.key("client"); w.string(v) }
            w.key("prev"); w.hex(e.previousHash)
            w.key("hash"); w.hex(e.hash)
            w.raw("}")
        case .checkpoint(let c):
            w.raw("{\"type\":\"checkpoint\"")
            w.key("seq"); w.integer(c.sequence)
            w.key("head"); w.hex(c.headHash)
            w.key("time"); w.string(c.time)
            w.key("key_id"); w.string(c.keyID)
            w.key("signature"); w.string(Data(c.signature).base64EncodedString())
            w.raw("}")
        }
    }

    // MARK: Reading

    /// Parses the header line.
    /// - Parameters:
    ///   - line: the line's bytes, without its line end.
    ///   - number: the line number for errors (1 for the header).
    public static func parseHeader(_ line: some Collection<UInt8>, number: Int = 1) throws -> AuditExportHeader {
        try Array(line).withUnsafeBufferPointer { try parseHeader(buffer: $0, number: number) }
    }

    /// Parses an entry or checkpoint line. Unknown keys are refused: every member of an entry must
    /// be covered by its hash.
    /// - Parameters:
    ///   - line: the line's bytes, without its line end.
    ///   - number: the line number for errors.
    public static func parseRecord(_ line: some Collection<UInt8>, number: Int) throws -> AuditRecord {
        try Array(line).withUnsafeBufferPointer { try parseRecord(buffer: $0, number: number) }
    }

    static func parseHeader(buffer: UnsafeBufferPointer<UInt8>, number: Int) throws -> AuditExportHeader {
        let f = Fields(try parse(buffer, number: number), line: number)
        guard case .string(fileType)? = f.line[.type] else {
            throw AuditError(.malformedExport,
                "Line \(number) is not the header of a ClaimGate audit export: export the log again with 'claimgate audit export'.")
        }
        guard let version = try f.optionalInteger(.version) else {
            throw f.error("the key \"version\" is missing")
        }
        guard version == Int64(Self.version) else {
            throw AuditError(.unsupportedVersion,
                "The export is version \(version) but this ClaimGate reads version \(Self.version): verify it with a matching ClaimGate release.")
        }
        if let scheme = try f.optionalString(.entryHash), scheme != AuditEntryHasher.label {
            throw AuditError(.unsupportedVersion,
                "The export's entries are hashed as '\(scheme.prefix(40))', which this ClaimGate does not know: verify it with a matching ClaimGate release.")
        }
        // Other header members are information only; unknown ones are ignored.
        return AuditExportHeader(version: Int(version), exported: try f.optionalString(.exported),
                                 keyID: try f.optionalString(.keyID), publicKeyPEM: try f.optionalString(.publicKey))
    }

    static func parseRecord(buffer: UnsafeBufferPointer<UInt8>, number: Int) throws -> AuditRecord {
        let f = Fields(try parse(buffer, number: number), line: number)
        if let unknown = f.line.unknownKeys.first { throw f.error("unknown key \"\(unknown.prefix(32))\"") }
        switch try f.string(.type) {
        case "entry":
            for k in Self.notInEntries where f.line[k] != nil {
                throw f.error("unknown key \"\(k.name)\" in an entry")
            }
            let seq = try f.integer(.seq)
            guard seq >= 1 else { throw f.error("\"seq\" must be 1 or more") }
            return .entry(AuditEntry(
                sequence: seq, time: try f.string(.time), actor: try f.string(.actor),
                action: try f.string(.action), outcome: try f.string(.outcome),
                partnerID: try f.optionalString(.partner), claimID: try f.optionalString(.claim),
                bundleID: try f.optionalString(.bundle), purpose: try f.optionalString(.purpose),
                documentDigests: try f.strings(.digests), bytes: try f.optionalInteger(.bytes),
                reason: try f.optionalString(.reason), transport: try f.string(.transport),
                clientAddress: try f.optionalString(.client),
                previousHash: try f.digest(.prev), hash: try f.digest(.hash)))
        case "checkpoint":
            for k in ExportKey.allCases where f.line[k] != nil {
                switch k {
                case .type, .seq, .head, .time, .keyID, .signature: continue
                default: throw f.error("unknown key \"\(k.name)\" in a checkpoint")
                }
            }
            let seq = try f.integer(.seq)
            guard seq >= 0 else { throw f.error("\"seq\" must not be negative") }
            let text = try f.string(.signature)
            guard let signature = Data(base64Encoded: text) else { throw f.error("\"signature\" is not base64") }
            return .checkpoint(AuditCheckpoint(sequence: seq, headHash: try f.digest(.head), time: try f.string(.time),
                                               keyID: try f.string(.keyID), signature: Array(signature)))
        case let other:
            throw f.error("unknown record type \"\(other.prefix(32))\"")
        }
    }

    private static let notInEntries: [ExportKey] = [.head, .keyID, .signature, .version, .entryHash, .exported,
                                                     .publicKey, .checkpointSignature]

    private static func parse(_ buffer: UnsafeBufferPointer<UInt8>, number: Int) throws -> JSONLine {
        var parser = JSONLineParser(buffer)
        do { return try parser.parse() } catch {
            throw AuditError(.malformedExport, "Line \(number) of the export is not valid JSON: \(error.reason).")
        }
    }

    /// A parsed line's values, converted with errors that name the line.
    private struct Fields {
        let line: JSONLine
        let number: Int

        init(_ line: JSONLine, line number: Int) {
            self.line = line
            self.number = number
        }

        func error(_ reason: String) -> AuditError {
            AuditError(.malformedExport, "Line \(number) of the export is not valid: \(reason).")
        }

        func optionalString(_ key: ExportKey) throws -> String? {
            switch line[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            default: throw error("\"\(key.name)\" must be a string")
            }
        }

        func string(_ key: ExportKey) throws -> String {
            guard let s = try optionalString(key) else { throw error("the key \"\(key.name)\" is missing") }
            return s
        }

        func optionalInteger(_ key: ExportKey) throws -> Int64? {
            switch line[key] {
            case nil, .null?: return nil
            case .integer(let v)?: return v
            default: throw error("\"\(key.name)\" must be a whole number")
            }
        }

        func integer(_ key: ExportKey) throws -> Int64 {
            guard let v = try optionalInteger(key) else { throw error("the key \"\(key.name)\" is missing") }
            return v
        }

        func strings(_ key: ExportKey) throws -> [String] {
            switch line[key] {
            case nil, .null?: return []
            case .strings(let a)?: return a
            default: throw error("\"\(key.name)\" must be an array of strings")
            }
        }

        /// 64 hex digits (decoded by the parser).
        func digest(_ key: ExportKey) throws -> [UInt8] {
            switch line[key] {
            case nil, .null?: throw error("the key \"\(key.name)\" is missing")
            case .digest(let d)?: return d
            default: throw error("\"\(key.name)\" must be 64 hex digits")
            }
        }
    }
}
