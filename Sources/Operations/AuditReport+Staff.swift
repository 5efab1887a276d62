import Foundation

// Rendering of the access review's staff sections (operators, local actions, grants review) in
// Markdown and CSV; JSON is the structs' own encoding. docs/audit-reports.md shows each.

extension AccessReview {
    /// Rights flagged unused in the grants review.
    public var unusedGrants: Int { grantsReview.operators.reduce(0) { $0 + $1.rights.filter(\.unused).count } }

    func staffMarkdown() -> String {
        let md = ReportEncoding.markdown
        var out = "\n## Operators\n\n"
        if operators.isEmpty { out += "No operator entries in this period.\n" }
        else {
            out += "| Operator | State | Actions | Refusals | First entry | Last entry | Certificates |\n"
            out += "|---|---|--:|--:|---|---|--:|\n"
            for o in operators {
                let refused = o.refusals.reduce(0) { $0 + $1.count }
                out += "| \(md(o.operator)) | \(o.state ?? "not on record") | \(o.entries - refused) | \(refused) "
                    + "| \(o.firstTime) | \(o.lastTime) | \(o.certificates.count) |\n"
            }
            for o in operators {
                out += "\n### Operator \(md(o.operator))\n\n"
                if o.actions.isEmpty { out += "No actions.\n\n" }
                else {
                    out += "| Kind | Action | Count |\n|---|---|--:|\n"
                    for a in o.actions { out += "| \(a.kind) | \(md(a.action)) | \(a.count) |\n" }
                    out += "\n"
                }
                if !o.refusals.isEmpty {
                    out += "| Refused | Reason | Action asked for | Count |\n|---|---|---|--:|\n"
                    for r in o.refusals {
                        out += "| \(md(r.action)) | \(md(r.reason.isEmpty ? "-" : r.reason)) | \(md(r.refusedAction ?? "")) | \(r.count) |\n"
                    }
                    out += "\n"
                }
                out += "Certificates:\n"
                for c in o.certificates {
                    out += "- sha256 \(c.sha256.isEmpty ? "(none recorded)" : c.sha256)\(c.current ? " (on record)" : ""): "
                        + "\(c.entries) \(c.entries == 1 ? "entry" : "entries"), \(c.firstTime) to \(c.lastTime)\n"
                }
            }
        }

        out += "\n## Local actions (break-glass)\n\n"
        if localActions.isEmpty { out += "No entries recorded at the gateway host's shell in this period.\n" }
        else {
            out += "Every entry recorded at the gateway host's shell, each to account for. `admin:` entries were recorded before "
                + "operators and name whatever `$USER` said.\n\n"
            out += "| Seq | Time | Account | Action | Outcome | Subject |\n|--:|---|---|---|---|---|\n"
            for l in localActions {
                let who = l.kind == .legacyAdmin ? "\(md(l.actor)) (legacy)" : md(l.actor)
                out += "| \(l.sequence) | \(l.time) | \(who) | \(md(l.action)) | \(md(l.outcome)) | \(md(Self.what(l))) |\n"
            }
        }

        let g = grantsReview
        out += "\n## Grants review\n\n"
        out += "Roles and grants as held when the report was generated; use measured up to \(g.reviewedAt). "
            + "Last used: the operator's last action that needed the right, recorded or (listings, shows, reports, "
            + "verification) noted by the gateway. Unused for \(g.unusedDays) days or more: flagged.\n\n"
        if g.operators.isEmpty { out += "No operators.\n" }
        else {
            let flagged = unusedGrants
            out += flagged == 0 ? "No right is flagged.\n\n" : "\(flagged) \(flagged == 1 ? "right is" : "rights are") flagged unused.\n\n"
            out += "| Operator | State | Partners | Right | Granted by | Granted at | Last used | Idle days | Flag |\n"
            out += "|---|---|---|---|---|---|---|--:|---|\n"
            for o in g.operators {
                let partners = o.allPartners ? "*" : o.partners.map(md).joined(separator: ", ")
                if o.rights.isEmpty {
                    out += "| \(md(o.operator)) | \(o.state) | \(partners) | (none) |  |  |  |  |  |\n"
                }
                for r in o.rights {
                    let used = r.lastUsed.map { "\($0) (\(md(r.lastUsedAction ?? "")))" } ?? "never"
                    out += "| \(md(o.operator)) | \(o.state) | \(partners) | \(r.right)\(r.kind == .grant ? " (grant)" : "") "
                        + "| \(md(r.grantedBy.map(StaffActor.short) ?? "not in the trail")) | \(r.grantedAt ?? "") | \(used) "
                        + "| \(r.idleDays.map(String.init) ?? "") | \(r.unused ? "**unused**" : "") |\n"
                }
            }
        }
        return out
    }

    /// `operator-actions`, `operator-refusals`, `operator-certificate`, `local-action` and
    /// `grant` rows, with an empty partner.
    func staffCSV() -> String {
        let cell = ReportEncoding.csv
        var out = ""
        func row(_ metric: String, _ key: String, _ value: String, _ detail: String) {
            out += ["", metric, cell(key), value, cell(detail)].joined(separator: ",") + "\n"
        }
        for o in operators {
            for a in o.actions { row("operator-actions", o.operator + "/" + a.action, String(a.count), a.kind) }
            for r in o.refusals {
                row("operator-refusals", o.operator + "/" + r.action + "/" + r.reason, String(r.count), r.refusedAction ?? "")
            }
            for c in o.certificates {
                row("operator-certificate", o.operator + "/" + c.sha256, String(c.entries),
                    "\(c.firstTime) to \(c.lastTime)" + (c.current ? " (on record)" : ""))
            }
        }
        for l in localActions {
            row("local-action", String(l.sequence), "1",
                [l.time, l.actor + (l.kind == .legacyAdmin ? " (legacy)" : ""), l.action, l.outcome, Self.what(l)].joined(separator: " "))
        }
        for o in grantsReview.operators {
            for r in o.rights {
                var detail = "\(r.kind.rawValue); \(o.state); granted by \(r.grantedBy ?? "?") at \(r.grantedAt ?? "?"); "
                detail += "last used " + (r.lastUsed.map { "\($0) (\(r.lastUsedAction ?? ""))" } ?? "never")
                if r.unused { detail += "; unused" }
                row("grant", o.operator + "/" + r.right, r.idleDays.map(String.init) ?? "", detail)
            }
        }
        return out
    }

    /// What a local entry concerned: its partner, bundle and subject.
    static func what(_ l: LocalAction) -> String {
        var parts: [String] = []
        if let p = l.partner { parts.append("partner " + p) }
        if let b = l.bundleID { parts.append("bundle " + b) }
        if let s = l.subject { parts.append(s) } else if let c = l.reasonCode { parts.append(c) }
        return parts.joined(separator: "; ")
    }
}
