import ClaimGateCore
import Foundation
import Testing

/// Values an attacker or a hurried operator can type: each is refused or made harmless.
@Suite struct HostileValuesTests {
    @Test(arguments: ["2026-12-01T25:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01T00:61:00Z", "2026-12-01T00:00:61Z",
                      "2016-12-31T23:59:60Z", "2026-02-29T12:00:00Z", "2026-04-31T12:00:00Z", "2026-13-01T12:00:00Z",
                      "2026-12-01T12:00:00+25:00", "2026-12-01T12:00:00", "2026-12-01T12:00:00Zjunk", "2026-+1-01",
                      "2026-02-30", "2026-00-10"])
    func impossibleTimesAreRefusedNotRolledOver(_ text: String) {
        #expect(throws: ClaimGateError.self, "\(text)") { try ExpirySpec.expires(text) }
        #expect(Timestamp.parse(text) == nil)
    }

    @Test func possibleTimesParseExactly() throws {
        #expect(try ExpirySpec.expires("2028-02-29T23:59:59Z") == .at(Date(timeIntervalSince1970: 1_835_481_599)))
        #expect(Timestamp.parse("2026-12-01T12:00:00.5+08:00") == Date(timeIntervalSince1970: 1_796_097_600.5))
        #expect(Timestamp.parse("2026-12-01T00:00:00-01:30") == Date(timeIntervalSince1970: 1_796_088_600))
        // What the gateway writes reads back.
        let now = Timestamp.wholeSeconds(Date())
        #expect(Timestamp.parse(Timestamp.format(now)) == now)
    }

    @Test func theRefusalSaysWhichFieldIsOutOfRange() throws {
        let e = try #require(throws: ClaimGateError.self) { try ExpirySpec.expires("2026-12-01T25:00:00Z") }
        #expect(e.message.contains("hour"))
        let leap = try #require(throws: ClaimGateError.self) { try ExpirySpec.expires("2016-12-31T23:59:60Z") }
        #expect(leap.message.contains("leap"))
    }

    @Test(arguments: ["-x", "-acme", "--help", "-"])
    func partnerIDsCannotStartWithADash(_ id: String) {
        #expect(!PartnerID.isValid(id))
        #expect(throws: ClaimGateError.self) { try PartnerID(id) }
    }

    @Test func aStoredIDFromBeforeTheRuleStillReads() throws {
        #expect(try PartnerID(stored: "-legacy").rawValue == "-legacy")
        #expect(throws: ClaimGateError.self) { try PartnerID(stored: "Not Valid") }
    }

    @Test func maskedKeysMatchInAnyCaseAndUnicodeForm() {
        let masked = Masking.apply(["claimant.national_id"], to: [
            "claimant.NATIONAL_ID": "756.1234.5678.97",
            "Claimant.National_Id": "756.1234.5678.97",
            "ｃｌａｉｍａｎｔ．ｎａｔｉｏｎａｌ＿ｉｄ": "756.1234.5678.97",   // full-width forms (NFKC)
            "loss.type": "water-damage",
        ])
        #expect(masked["claimant.NATIONAL_ID"] == Masking.maskedValue)
        #expect(masked["Claimant.National_Id"] == Masking.maskedValue)
        #expect(masked["ｃｌａｉｍａｎｔ．ｎａｔｉｏｎａｌ＿ｉｄ"] == Masking.maskedValue)
        #expect(masked["loss.type"] == "water-damage")
        // And the other way round: a field listed in another case.
        #expect(Masking.apply(["Claimant.Phone"], to: ["claimant.phone": "+41"])["claimant.phone"] == Masking.maskedValue)
    }

    @Test func twoSpellingsOfOneKeyAreAmbiguous() {
        #expect(throws: ClaimGateError.self) { try Masking.validateNames(["claimant.national_id", "claimant.NATIONAL_ID"]) }
        #expect(throws: ClaimGateError.self) { try Masking.validateNames(["e\u{301}", "\u{E9}"]) }   // NFD and NFC é
        #expect(throws: ClaimGateError.self) { try Masking.validateNames(["STRASSE", "straße"]) }     // full case folding
        #expect(throws: ClaimGateError.self) { try Masking.validateNames(["ΟΔΟΣ", "οδος"]) }          // final sigma
        #expect(Masking.apply(["claimant.straße"], to: ["CLAIMANT.STRASSE": "x"])["CLAIMANT.STRASSE"] == Masking.maskedValue)
    }

    @Test(arguments: ["claimant.national\u{200B}_id", "claimant.\u{202E}di_lanoitan", "a\tb", "a b", "a=b", "", "x\u{0}"])
    func invisibleOrControlCharactersInAKeyAreRefused(_ key: String) {
        #expect(throws: ClaimGateError.self) { try Masking.validateNames([key]) }
    }

    @Test func partnerSuppliedSubjectsAreEscapedAndBounded() {
        let forged = EventReason(Refusal.Reason.pathRefused, "/outbox/x\n2026-12-07T00:00:00Z system purge success\u{1B}[2J\u{202E}fdp.exe")
        #expect(!forged.text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x202E })
        #expect(forged.subject?.contains("\\u{A}") == true)
        #expect(forged.subject?.contains("\\u{1B}") == true)
        #expect(forged.subject?.contains("\\u{202E}") == true)
        #expect(EventReason(Refusal.Reason.pathRefused, "a\\b").subject == "a\\\\b")   // an escape cannot be forged
        let long = EventReason(Refusal.Reason.pathRefused, String(repeating: "\u{7}", count: 500))
        #expect(long.subject!.count <= EventReason.maxSubject)
        #expect(long.subject!.hasSuffix("}"))   // cut between escapes, never inside one
        #expect(Principal.local(uid: 0, name: "root\nsystem").actor.description == "local:uid=0(root\\u{A}system)")
    }
}
