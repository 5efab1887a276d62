extension EnvelopeError.Code {
    /// The bundle is not a well-formed DER/BER structure: truncated, trailing data, a length that
    /// overruns its container, a size or nesting cap exceeded, or an unexpected element.
    public static let malformed = EnvelopeError.Code("malformed")
    /// The bundle is well formed but outside ClaimGate's strict profile: an algorithm, version,
    /// recipient type or signer count that the streaming opener refuses before running any crypto.
    public static let disallowed = EnvelopeError.Code("disallowed")
}

extension EnvelopeError {
    /// A structural error at `offset` of `layer` ("bundle" or "signed content").
    static func malformed(_ detail: String, layer: StreamLayer, at offset: Int64,
                          file: String = #fileID, line: Int = #line) -> EnvelopeError {
        EnvelopeError(.malformed, "The \(layer.noun) is malformed at byte \(offset): \(detail). It was truncated or altered; fetch it again or ask the sender to reseal it.",
                      file: file, line: line)
    }

    /// A refusal by the strict profile: `what` names the construct, `accepted` what would be accepted.
    static func disallowed(_ what: String, accepted: String, file: String = #fileID, line: Int = #line) -> EnvelopeError {
        EnvelopeError(.disallowed, "The bundle uses \(what), which ClaimGate refuses; it accepts \(accepted). Ask the sender to seal with `claimgate seal` or the stock commands in docs/bundle-format.md.",
                      file: file, line: line)
    }
}

/// Which of the two nested encodings a streaming error is about.
enum StreamLayer: Sendable {
    /// The bundle file itself (AuthEnvelopedData).
    case bundle
    /// The decrypted SignedData.
    case signedContent

    var noun: String {
        switch self {
        case .bundle: return "bundle"
        case .signedContent: return "decrypted signed content"
        }
    }
}
