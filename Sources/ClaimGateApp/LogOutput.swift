import Foundation
import Logging
import Synchronization

/// Where and how the gateway's log lines go: standard error, as text (swift-log's stream
/// format) or as JSON Lines (`--log-format json`: one object per line with `time`, `level`,
/// `label`, `message` and each metadata key as a field), for a log shipper.
///
/// What is logged is decided where it is logged: ids, codes, sizes and durations, never
/// document content, metadata values or key material.
public enum LogOutput {
    public enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    /// Installs the process's log handler. Call once, before the first logger is made.
    /// - Parameters:
    ///   - level: the lowest level written; `CLAIMGATE_LOG` (trace, debug, info, notice,
    ///     warning, error, critical) overrides it.
    public static func bootstrap(format: Format, level: Logger.Level,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) {
        let level = environment["CLAIMGATE_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? level
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var h = StreamLogHandler.standardError(label: label)
                h.logLevel = level
                return h
            case .json:
                return JSONLogHandler(label: label, level: level)
            }
        }
    }
}

/// One JSON object per log line on standard error.
public struct JSONLogHandler: LogHandler {
    public let label: String
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let write: @Sendable (String) -> Void

    public init(label: String, level: Logger.Level, write: @escaping @Sendable (String) -> Void = JSONLogHandler.standardError) {
        self.label = label; self.logLevel = level; self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { $1 } }
        if let explicit { fields.merge(explicit) { $1 } }
        var out = "{\"time\":\(Self.quote(Self.now())),\"level\":\(Self.quote(level.rawValue)),\"label\":\(Self.quote(label)),\"message\":\(Self.quote(message.description))"
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) where !["time", "level", "label", "message"].contains(key) {
            out += ",\(Self.quote(key)):\(Self.json(value))"
        }
        write(out + "}\n")
    }

    static func json(_ v: Logger.Metadata.Value) -> String {
        switch v {
        case .string(let s): return quote(s)
        case .stringConvertible(let c): return quote(c.description)
        case .array(let a): return "[" + a.map(json).joined(separator: ",") + "]"
        case .dictionary(let d): return "{" + d.sorted { $0.key < $1.key }.map { "\(quote($0.key)):\(json($0.value))" }.joined(separator: ",") + "}"
        }
    }

    /// A JSON string literal: quotes, backslashes and every control character escaped.
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20 || u.value == 0x7F || (0x80...0x9F).contains(u.value) || u.value == 0x2028 || u.value == 0x2029:
                out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    static func now() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = time_t(tv.tv_sec)
        var tm = tm()
        gmtime_r(&t, &tm)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec, Int(tv.tv_usec / 1000))
    }

    private static let lock = Mutex(())
    @Sendable public static func standardError(_ line: String) {
        lock.withLock { _ in
            var bytes = Array(line.utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { return }
                bytes = bytes.dropFirst(n)
            }
        }
    }
}
