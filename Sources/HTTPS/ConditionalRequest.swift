import Foundation
import Hummingbird

/// The preconditions a bundle download honours, evaluated as RFC 9110 §13.2.2 orders them for
/// `GET` and `HEAD`: `If-None-Match`, else `If-Modified-Since`, decide `304 Not Modified`; then
/// `If-Range` decides whether a `Range` applies. A bundle's validators never change (its sealed
/// file is written once): the `ETag` is the file's SHA-256 in quotes (strong), `Last-Modified`
/// the bundle's created time. `If-Match` and `If-Unmodified-Since` are not evaluated (they guard
/// changes, and a partner changes no bundle).
struct ConditionalRequest: Sendable, Equatable {
    var ifNoneMatch: String?
    var ifModifiedSince: String?
    var ifRange: String?

    init(ifNoneMatch: String? = nil, ifModifiedSince: String? = nil, ifRange: String? = nil) {
        self.ifNoneMatch = ifNoneMatch
        self.ifModifiedSince = ifModifiedSince
        self.ifRange = ifRange
    }

    /// Reads the request's precondition fields (several lines of one field are one list).
    init(_ headers: HTTPFields) {
        self.init(ifNoneMatch: headers[.ifNoneMatch], ifModifiedSince: headers[.ifModifiedSince], ifRange: headers[.ifRange])
    }

    /// Whether anything here needs the bundle's validators before the download starts (`If-Range`
    /// only counts with a `Range`, §13.1.5).
    func needsValidators(range: Bool) -> Bool {
        ifNoneMatch != nil || ifModifiedSince != nil || (range && ifRange != nil)
    }

    /// Whether a `GET` or `HEAD` is answered `304`: `If-None-Match` names the ETag (weak
    /// comparison, §13.1.2: `W/` does not matter) or is `*` (the bundle exists); without
    /// `If-None-Match`, `If-Modified-Since` is a valid HTTP-date at or after `Last-Modified`.
    /// A field that does not parse is not a match (a malformed `If-Modified-Since` is ignored).
    func notModified(etag: String, lastModified: Date) -> Bool {
        if let ifNoneMatch {
            let value = ifNoneMatch.trimmingCharacters(in: .whitespaces)
            if value == "*" { return true }
            guard let tags = Self.entityTags(value) else { return false }
            return tags.contains { $0.opaque == Self.opaque(etag) }
        }
        if let ifModifiedSince, let since = HTTPDate.parse(ifModifiedSince) {
            return HTTPDate.truncated(lastModified) <= since
        }
        return false
    }

    /// Whether a `Range` is honoured (§13.1.5): no `If-Range`, or one that names the ETag (strong
    /// comparison: a weak tag never matches) or is exactly `Last-Modified`. Otherwise the whole
    /// bundle is sent (`200`): what the client holds is not this bundle's.
    func rangeApplies(etag: String, lastModified: Date) -> Bool {
        guard let ifRange else { return true }
        let value = ifRange.trimmingCharacters(in: .whitespaces)
        if value.hasPrefix("\"") || value.hasPrefix("W/") {
            guard let tags = Self.entityTags(value), tags.count == 1 else { return false }
            return !tags[0].weak && tags[0].opaque == Self.opaque(etag)
        }
        guard let date = HTTPDate.parse(value) else { return false }
        return date == HTTPDate.truncated(lastModified)
    }

    struct EntityTag: Equatable { var weak: Bool; var opaque: Substring }

    /// `1#entity-tag` (§8.8.3, §5.6.1: empty list elements do not count); nil when it is not one.
    static func entityTags(_ list: String) -> [EntityTag]? {
        var tags: [EntityTag] = []
        var rest = Substring(list)
        while true {
            rest = rest.drop { $0 == " " || $0 == "\t" || $0 == "," }
            if rest.isEmpty { return tags.isEmpty ? nil : tags }
            var weak = false
            if rest.hasPrefix("W/") { weak = true; rest = rest.dropFirst(2) }
            guard rest.first == "\"" else { return nil }
            let body = rest.dropFirst()
            guard let close = body.firstIndex(of: "\"") else { return nil }
            tags.append(EntityTag(weak: weak, opaque: body[..<close]))
            rest = body[body.index(after: close)...].drop { $0 == " " || $0 == "\t" }
            guard rest.isEmpty || rest.first == "," else { return nil }
        }
    }

    /// An ETag without its quotes (and `W/`).
    private static func opaque(_ etag: String) -> Substring {
        entityTags(etag)?.first?.opaque ?? Substring(etag)
    }
}
