import KnoxCore
import KnoxEngine

/// One row of a list pane: the typed value the engine's handler answered, and its wire form. Columns, titles and
/// the checks on a row read the typed value, so a renamed property fails to compile instead of rendering blank; the
/// detail page and the edit forms read the wire form, field by field under the descriptors' names (the same
/// representation the REST API answers).
public struct PaneRow: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case route(RouteView)
        case secret(SecretSummary)
        case client(Client)
        case environment(Environment)
        case apiKey(ApiKey)
        /// An OAuth authorization request waiting for the operator (listed first in the API keys pane).
        case authorization(PendingAuthorization)
        case audit(AuditEntry)
    }

    public let value: Value
    public let wire: JSONValue

    public init(_ value: Value, wire: JSONValue) {
        self.value = value
        self.wire = wire
    }

    public var id: String {
        switch value {
        case .route(let v): v.route.id
        case .secret(let s): s.secret.id
        case .client(let c): c.id
        case .environment(let e): e.id
        case .apiKey(let k): k.id
        case .authorization(let p): p.request.id
        case .audit(let a): a.id
        }
    }

    /// What the detail page and the confirmations call it.
    public var name: String? {
        switch value {
        case .route(let v): v.route.name
        case .secret(let s): s.secret.name
        case .client(let c): c.name
        case .environment(let e): e.name
        case .apiKey(let k): k.name
        case .authorization(let p): "\(p.clientName) (authorization)"
        case .audit: nil
        }
    }

    /// The detail page's title: the name, or an audit row's action.
    public var title: String {
        if case .audit(let a) = value { return a.action }
        return name ?? id
    }

    public var isPendingAuthorization: Bool {
        if case .authorization = value { return true }
        return false
    }
}
