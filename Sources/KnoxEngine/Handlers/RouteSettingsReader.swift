import KnoxCore
import KnoxDataPlane

/// Reads the per-environment settings fields of a route body into `RouteSettings`: each field of
/// `RouteSettings.fields` in turn, then the checks that need this process (a target must not reach its own listeners).
///
/// Absent fields leave the target untouched; `null` clears a field that may be empty (on an override row, that
/// means "inherit the base value").
struct RouteSettingsReader {
    /// Every settings field a route body may carry.
    static var fields: Set<String> { RouteSettings.routeBodyFieldNames }

    static var forbiddenInjectedHeaders: Set<String> { InjectableHeaders.framing }
    static var reservedInjectedHeaders: Set<String> { InjectableHeaders.reserved }

    let reader: FieldReader
    /// True for the base environment's row, where nothing may be left unset.
    let isBase: Bool
    /// This process's listeners: a target that reaches one of them is refused.
    var ownListeners: OwnListeners? = nil

    /// The route body's settings (every field but the environment's own `enabled`).
    func apply(to s: inout RouteSettings) throws(ApiError) {
        for field in RouteSettings.fields where !field.environmentOnly {
            try field.read(reader, isBase: isBase, into: &s)
            if field.name == "target_base_url", reader.has(field.name), let url = s.targetBaseURL {
                try Self.refuseOwnListener(url, field: reader.name(field.name), ownListeners)
            }
        }
    }

    /// The settings only an environment body carries (its `enabled` switch; a route's own `enabled` is a route
    /// field).
    func applyEnvironmentOnly(to s: inout RouteSettings) throws(ApiError) {
        for field in RouteSettings.fields where field.environmentOnly {
            try field.read(reader, isBase: isBase, into: &s)
        }
    }

    /// Refuses a target that would reach one of this gateway's own listeners (checked again when connecting, for
    /// names only known then).
    static func refuseOwnListener(_ url: String, field: String, _ listeners: OwnListeners?) throws(ApiError) {
        guard let listeners, let parsed = try? UpstreamURL.parse(url).get(),
            let own = listeners.listener(reachedBy: parsed.host, port: parsed.port)
        else { return }
        throw ApiError.refused(
            field, "reaches this gateway's own listener \(own); a route cannot target KnoxCall itself (it would loop)",
            .operatorPolicy)
    }
}
