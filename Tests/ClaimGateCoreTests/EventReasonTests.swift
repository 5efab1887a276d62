import ClaimGateCore
import Testing

/// Reasons as a closed code and a subject: the canonical text each writes, and the parse that
/// fills the columns of entries recorded before they existed.
@Suite struct EventReasonTests {
    @Test func theCanonicalTextIsTheCodeOrCodeColonSubject() {
        #expect(EventReason(.bundleUnavailable, "5f0c.p7m").text == "bundle-unavailable: 5f0c.p7m")
        #expect(EventReason(.digestMismatch).text == "digest-mismatch")
        #expect(EventReason(.loginFlood, "3 more refused logins").text == "login-flood: 3 more refused logins")
        // A person's words are recorded as they were written.
        #expect(EventReason(.operatorNote, "incident INC-7").text == "incident INC-7")
        #expect(EventReason(.agreementChanged, "purposes: -fraud-review").text == "purposes: -fraud-review")
        #expect(EventReason(.operatorNote, String(repeating: "x", count: 500)).subject?.count == EventReason.maxSubject)
    }

    @Test func theSetOfCodesIsClosed() {
        #expect(EventReason.Code(rawValue: "The") == nil, "a sentence's first word is no code")
        #expect(EventReason.Code(rawValue: "unknown-key") == EventReason.Code(.unknownKey))
        #expect(EventReason.Code(rawValue: "connect-failed") == EventReason.Code(PushError.Code.connect))
        #expect(EventReason.Code(rawValue: "invalid-agreement") == EventReason.Code(ClaimGateError.Code.invalidAgreement))
        for r in Refusal.Reason.allCases { #expect(EventReason.Code.all.contains(r.rawValue)) }
    }

    @Test(arguments: [
        // (action, recorded text, code, subject)
        ("access-refused", "bundle-unavailable: 6b1f0e1e-0000-4000-8000-000000000001.p7m", "bundle-unavailable", "6b1f0e1e-0000-4000-8000-000000000001.p7m"),
        ("access-refused", "path-refused: open /outbox/../x", "path-refused", "open /outbox/../x"),
        ("login-refused", "unknown-key (user 'acme-assessors')", "unknown-key", "acme-assessors"),
        ("login-refused", "no-key", "no-key", nil),
        ("login-refused", "login-flood: 12 more refused logins from a to b, counted, not recorded one by one", "login-flood",
         "12 more refused logins from a to b, counted, not recorded one by one"),
        ("upload", "too-large: /inbox/big.bin", "upload-too-large", "/inbox/big.bin"),
        ("upload", "interrupted", "interrupted", nil),
        ("delivery", "connect-failed", "connect-failed", nil),
        ("partner-refused", "invalid-agreement", "invalid-agreement", nil),
        ("purge", "recalled", "recalled", nil),
        ("partner-updated", "purposes: -fraud-review", "agreement-changed", "purposes: -fraud-review"),
        ("recall", "sent to the wrong assessor", "operator-note", "sent to the wrong assessor"),
        ("inbound-quarantined", "The report's signer does not chain to x.", "report-rejected", "The report's signer does not chain to x."),
        ("access-refused", "bundle-recalled", "bundle-unavailable", nil),
        ("access-refused", "The gateway said something odd", "unclassified", "The gateway said something odd"),
    ] as [(String, String, String, String?)])
    func aRecordedTextParsesToItsCodeAndSubject(_ action: String, _ text: String, _ code: String, _ subject: String?) {
        let r = EventReason.parse(recorded: text, action: action)
        #expect(r.code.rawValue == code)
        #expect(r.subject == subject)
        #expect(r.text == text, "the recorded text is kept as it was")
    }

    @Test func everyNewReasonParsesBackToItself() {
        let samples: [(String, EventReason)] = [
            ("access-refused", EventReason(.bundleUnavailable, "x: y")), ("download", EventReason(.resume)),
            ("login-refused", EventReason(.unknownKey, "acme")), ("recall", EventReason(.operatorNote, "INC-1: wrong")),
            ("partner-updated", EventReason(.agreementChanged, "crl: replaced")),
            ("inbound-quarantined", EventReason(.reportRejected, "Document 'a.pdf' is declared image/png")),
        ]
        for (action, r) in samples {
            let back = EventReason.parse(recorded: r.text, action: action)
            #expect(back.code == r.code && back.subject == r.subject, "\(action): \(r.text)")
        }
    }
}
