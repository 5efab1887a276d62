import ClaimGateCore
import Foundation

/// Every string the console shows in one language, from `Resources/catalogue/<tag>.json`: a flat
/// JSON object of keys (`nav_bundles`) to text. Templates read it as `{{t.key}}`; the routes
/// read sentences from it with `text(_:)`.
struct ConsoleCatalogue: Sendable {
    let language: ConsoleLanguage
    let strings: [String: String]

    /// The text for `key`; the key itself when the catalogue lacks it (a test keeps both
    /// catalogues complete, so this shows only a mistake).
    func text(_ key: String) -> String { strings[key] ?? key }

    /// Reads one language's catalogue from a folder of `<tag>.json` files.
    /// - Throws: `ClaimGateError(.io)` when the file is missing or not a flat object of strings.
    static func load(_ language: ConsoleLanguage, from folder: String) throws -> ConsoleCatalogue {
        let path = folder + "/" + language.rawValue + ".json"
        guard let data = FileManager.default.contents(atPath: path),
              let strings = try? JSONDecoder().decode([String: String].self, from: data) else {
            throw ClaimGateError(.io, "The console's catalogue \(path) cannot be read as a JSON object of strings: reinstall claimgate.")
        }
        return ConsoleCatalogue(language: language, strings: strings)
    }
}
