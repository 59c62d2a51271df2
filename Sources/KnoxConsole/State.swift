import KnoxCore

/// A page stacked over the list panes; `Esc` pops it.
public enum Page: Sendable, Equatable {
    case detail(DetailPage)
    case form(FormState)
    case confirm(ConfirmState)
    case help(scroll: Int)
    /// A new API key, shown this once.
    case reveal(RevealState)
}

/// One resource's details as label/value lines.
public struct DetailPage: Sendable, Equatable {
    public var pane: Pane
    public var id: String
    public var title: String
    public var lines: [(String, String)]
    public var scroll = 0
    /// The row the detail came from, then the full resource once loaded (editing starts from it); nil for a request
    /// log entry.
    public var row: PaneRow?

    public init(pane: Pane, id: String, title: String, lines: [(String, String)], row: PaneRow?) {
        self.pane = pane
        self.id = id
        self.title = title
        self.lines = lines
        self.row = row
    }

    public static func == (a: DetailPage, b: DetailPage) -> Bool {
        a.pane == b.pane && a.id == b.id && a.title == b.title && a.scroll == b.scroll
            && a.lines.map { $0.0 + "\u{0}" + $0.1 } == b.lines.map { $0.0 + "\u{0}" + $0.1 }
    }
}

/// A question before something destructive. In Live, `typeToConfirm` holds the name the operator must type.
public struct ConfirmState: Sendable, Equatable {
    public var title: String
    public var message: String
    public var typeToConfirm: String?
    public var typed = ""
    public var action: ConsoleEffect.Mutation?
    /// Quitting with unsaved edits (no mutation).
    public var quits = false

    public init(
        title: String, message: String, typeToConfirm: String? = nil, action: ConsoleEffect.Mutation?,
        quits: Bool = false
    ) {
        self.title = title
        self.message = message
        self.typeToConfirm = typeToConfirm
        self.action = action
        self.quits = quits
    }

    public var satisfied: Bool { typeToConfirm.map { typed == $0 } ?? true }
}

public struct RevealState: Sendable, Equatable {
    public var name: String
    /// The key text; only in this page's state, never in a row, a log or the screen after it closes.
    public var key: String
    public var copied = false
}

/// Everything the console shows, as a value. `reduce` changes it; `render` draws it.
public struct ConsoleState: Sendable, Equatable {
    public var mode: Mode
    public var pane: Pane = .routes
    public var lists: [Mode: [Pane: ListState]] = [:]
    public var logs: [Mode: LogState] = [.live: LogState(), .test: LogState()]
    public var stats: [Mode: HeaderStats] = [:]
    public var stack: [Page] = []
    /// The `:` command line while it is open.
    public var command: String?
    /// True while typing into the list filter (`/`).
    public var editingFilter = false
    public var toast: Toast?
    public var environment: Deployment
    public var context: [Mode: FormContext] = [:]
    /// Route id → name, per mode (for the log pane).
    public var routeNames: [Mode: [String: String]] = [:]
    public var themeName: String
    /// Column widths the operator set, by `pane.TITLE` (remembered in the preferences).
    public var columnWidths: [String: Int] = [:]
    /// The column being resized, per pane (shown marked; nil until `[`, `]`, `<` or `>` is used).
    public var columnFocus: [Pane: Int] = [:]
    public var width: Int
    public var height: Int
    public var quitting = false

    public init(mode: Mode, environment: Deployment, themeName: String = "dark", width: Int = 80, height: Int = 24) {
        self.mode = mode
        self.environment = environment
        self.themeName = themeName
        self.width = width
        self.height = height
    }

    public func list(_ pane: Pane) -> ListState { lists[mode]?[pane] ?? ListState() }

    public mutating func updateList(_ pane: Pane, _ change: (inout ListState) -> Void) {
        var list = self.list(pane)
        change(&list)
        lists[mode, default: [:]][pane] = list
    }

    public var log: LogState {
        get { logs[mode] ?? LogState() }
        set { logs[mode] = newValue }
    }

    public var formContext: FormContext { context[mode] ?? FormContext() }

    /// Rows of the list area (between the title lines and the hint line).
    public var listHeight: Int { max(1, height - 6) }

    /// Whether a form with unsaved edits is open.
    public var hasUnsavedForm: Bool {
        stack.contains { if case .form(let f) = $0 { f.dirty } else { false } }
    }
}

/// What the console asks its runtime to do; the runtime answers with events.
public enum ConsoleEffect: Sendable, Equatable {
    case load(Mode, Pane)
    case loadDetail(Mode, Pane, id: String)
    case mutate(Mode, Mutation)
    case copy(String)
    case savePreferences
    case quit

    /// A change, made through the engine's handlers.
    public enum Mutation: Sendable, Equatable {
        case create(Pane, JSONObject)
        case update(Pane, id: String, JSONObject)
        case delete(Pane, id: String)
        case setSecretValue(id: String, JSONObject)
        case putRouteEnvironment(routeId: String, environment: String, JSONObject)
        case assignClient(routeId: String, clientId: String, JSONObject)
        /// Approve or deny a pending OAuth authorization request (authorization-code grant).
        case decideAuthorization(id: String, approve: Bool)
    }
}

/// What happened, for `reduce`.
public enum ConsoleEvent: Sendable {
    case key(Key)
    case mouse(MouseAction)
    case resize(width: Int, height: Int)
    case loaded(Mode, Pane, Result<[PaneRow], ConsoleFailure>)
    case detailLoaded(Mode, Pane, id: String, PaneRow)
    case logRows(Mode, [RequestLogEntry])
    case stats(Mode, HeaderStats)
    case context(Mode, FormContext, routeNames: [String: String])
    case mutated(Mode, ConsoleEffect.Mutation, Result<ChangeOutcome, ConsoleFailure>)
    /// About ten times a second: toasts expire.
    case tick
}

/// What a change made, read from the handler's typed answer, for the toast (or the new key's dialog).
public enum ChangeOutcome: Sendable, Equatable, CustomStringConvertible {
    /// A resource created or saved, by its name.
    case saved(name: String)
    /// A new API key, with the one showing of its text.
    case newKey(name: String, key: String)
    /// Deleted, or revoked.
    case removed
    /// A secret's new value, by the secret's name and the value's version.
    case valueStored(secret: String, version: Int)
    /// An environment's override of a route.
    case overrideSaved(environment: String)
    /// A client assigned to a route (nil: its name could not be read back).
    case assigned(client: String?)
    /// An authorization request approved or denied.
    case decided

    /// Never the new key's text.
    public var description: String {
        switch self {
        case .saved(let name): "saved(\(name))"
        case .newKey(let name, _): "newKey(\(name))"
        case .removed: "removed"
        case .valueStored(let secret, let version): "valueStored(\(secret), \(version))"
        case .overrideSaved(let environment): "overrideSaved(\(environment))"
        case .assigned(let client): "assigned(\(client ?? "?"))"
        case .decided: "decided"
        }
    }
}

/// An API error as the console shows it.
public struct ConsoleFailure: Error, Sendable, Equatable {
    public let type: String
    public let message: String
    public let field: String?

    public init(type: String, message: String, field: String?) {
        self.type = type
        self.message = message
        self.field = field
    }
}
