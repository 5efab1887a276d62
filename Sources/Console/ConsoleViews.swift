import ClaimGateCore
import Foundation
import Hummingbird
import Mustache

/// The console's templates (swift-mustache, escaped output only), its catalogues and its
/// stylesheet, loaded once from the module's resources (`Resources/templates`, `catalogue`,
/// `static`). Every page is a template that inherits `layout` (`{{<layout}}…{{/layout}}`).
struct ConsoleViews: Sendable {
    let library: MustacheLibrary
    let catalogues: [ConsoleLanguage: ConsoleCatalogue]
    /// `/static/console.css`.
    let stylesheet: String

    /// The folder the resources were copied to (`resources: [.copy("Resources")]`).
    static var resources: String {
        // The resource bundle holds a `Resources` folder; Foundation may already name that
        // folder as the bundle's resource URL (Linux) or the bundle's own (Darwin).
        let candidates = [Bundle.module.bundleURL.appendingPathComponent("Resources"), Bundle.module.resourceURL,
                          Bundle.module.resourceURL?.appendingPathComponent("Resources")].compactMap { $0?.path }
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/templates/layout.mustache") } ?? candidates[0]
    }

    /// Loads everything, failing when a file is missing or a template does not parse.
    static func load() async throws -> ConsoleViews {
        let root = resources
        let library: MustacheLibrary
        do { library = try await MustacheLibrary(directory: root + "/templates/") } catch {
            throw ClaimGateError(.io, "The console's templates in \(root)/templates cannot be loaded: reinstall claimgate.", diagnostics: "\(error)")
        }
        guard library.getTemplate(named: "layout") != nil else {
            throw ClaimGateError(.io, "The console's templates are missing from \(root)/templates: reinstall claimgate.")
        }
        var catalogues: [ConsoleLanguage: ConsoleCatalogue] = [:]
        for language in ConsoleLanguage.allCases {
            catalogues[language] = try ConsoleCatalogue.load(language, from: root + "/catalogue")
        }
        guard let css = FileManager.default.contents(atPath: root + "/static/console.css") else {
            throw ClaimGateError(.io, "The console's stylesheet \(root)/static/console.css cannot be read: reinstall claimgate.")
        }
        return ConsoleViews(library: library, catalogues: catalogues, stylesheet: String(decoding: css, as: UTF8.self))
    }

    func catalogue(_ language: ConsoleLanguage) -> ConsoleCatalogue {
        catalogues[language] ?? ConsoleCatalogue(language: language, strings: [:])
    }

    /// Renders `template` for `page` with `values` (merged over the layout's own: language,
    /// catalogue, navigation, CSRF token) as an HTML response.
    /// - Parameters:
    ///   - template: a template's name (its file name without `.mustache`).
    ///   - page: the request's language, time zone, operator and CSRF token.
    ///   - status: the response's status.
    ///   - title: the catalogue key of the page's title.
    ///   - values: what the template shows.
    func render(_ template: String, _ page: ConsolePage, status: HTTPResponse.Status = .ok, title: String,
                _ values: [String: Any] = [:]) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: html(template, page, title: title, values))))
    }

    /// The HTML `render` answers.
    func html(_ template: String, _ page: ConsolePage, title: String, _ values: [String: Any] = [:]) -> String {
        var context = page.layoutValues(catalogue(page.language))
        context["title"] = catalogue(page.language).text(title)
        for (k, v) in values { context[k] = v }
        return library.render(context, withTemplate: template) ?? ""
    }
}
