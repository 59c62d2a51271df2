import Foundation
import KnoxCore
import KnoxEngine
import Synchronization

/// Runs the console: owns the terminal (through `CursesBackend`) on one thread, turns effects into engine calls, and
/// feeds results, log rows and statistics back as events. Redraws are coalesced to at most ~30 a second.
public final class ConsoleApp: @unchecked Sendable {
    // The loop's state is touched only by the loop thread; other threads talk to it through `inbox` and `stopFlag`.
    private let engines: [Mode: Engine]
    private let bridge: EngineBridge
    private let preferencesPath: String
    private let themeDirectories: [String]
    private let inbox = Mutex<[ConsoleEvent]>([])
    private let stopFlag = Mutex(false)
    private var state: ConsoleState
    private var theme: Theme
    private let backend: CursesBackend
    private var lastSeq: [Mode: Int64] = [:]
    private var snapshotVersion: [Mode: Int64] = [:]
    private var recent: [Mode: [(ts: Int64, error: Bool)]] = [:]
    private var tasks: [Task<Void, Never>] = []
    /// How the loop kept up (read after `run` returns; the benchmark reports it).
    public private(set) var frames = FrameStats()

    public init(
        engines: [Mode: Engine], deployment: Deployment, preferencesPath: String, themeName: String?,
        themeDirectories: [String], useMouse: Bool, useColor: Bool
    ) {
        self.engines = engines
        bridge = EngineBridge(engines: engines)
        self.preferencesPath = preferencesPath
        self.themeDirectories = themeDirectories
        let prefs = Preferences.load(preferencesPath)
        let name = themeName ?? prefs.theme ?? "dark"
        theme = (try? Theme.load(name, directories: themeDirectories)) ?? Theme.fallback
        state = ConsoleState(mode: prefs.mode ?? .live, environment: deployment, themeName: name)
        state.columnWidths = prefs.columns
        backend = CursesBackend(useMouse: useMouse, useColor: useColor)
    }

    /// Asks the loop to end (SIGTERM, SIGINT from another process).
    public func requestStop() { stopFlag.withLock { $0 = true } }

    /// Runs until the operator quits; the terminal is restored before this returns.
    public func run() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread { [self] in
                loop()
                done.resume()
            }
            thread.name = "knoxcall-console"
            thread.start()
        }
        for task in tasks { task.cancel() }
    }

    private var pendingKey: Date?

    private func post(_ event: ConsoleEvent) { inbox.withLock { $0.append(event) } }

    private func loop() {
        backend.start(theme: theme)
        if !backend.colorCapable { backend.apply(effective(theme)) }
        defer { backend.stop() }
        let size = backend.size
        dispatch(.resize(width: size.width, height: size.height))
        for mode in Mode.allCases { refreshContext(mode) }
        execute([.load(state.mode, state.pane == .logs ? .routes : state.pane)])
        startLogFeeds()
        var dirty = true
        var lastDraw = Date.distantPast
        var lastTick = Date()
        var lastPoll = Date()
        let started = Date()
        defer { frames.seconds = Date().timeIntervalSince(started) }
        while !state.quitting && !stopFlag.withLock({ $0 }) {
            // Right after a key, only drain what is already queued (a paste, fast typing); then draw at once.
            if let input = backend.read(wait: pendingKey == nil) {
                if pendingKey == nil { pendingKey = Date() }
                switch input {
                case .key(let key): dispatch(.key(key))
                case .mouse(let action): dispatch(.mouse(action))
                case .resize:
                    backend.invalidate()
                    let s = backend.size
                    dispatch(.resize(width: s.width, height: s.height))
                }
                dirty = true
                continue
            }
            let events = inbox.withLock { e in
                defer { e = [] }; return e
            }
            for event in events { dispatch(event) }
            if !events.isEmpty { dirty = true }
            let now = Date()
            if now.timeIntervalSince(lastTick) >= 0.1 {
                lastTick = now
                dispatch(.tick)
                updateStats(now)
                dirty = true
            }
            if now.timeIntervalSince(lastPoll) >= 1 {
                lastPoll = now
                pollConfiguration()
            }
            // Keys draw at once; everything else (log rows, ticks) coalesces to at most 30 frames a second.
            if dirty && (pendingKey != nil || now.timeIntervalSince(lastDraw) >= 1.0 / 30) {
                backend.draw(Console.render(state, width: state.width, height: state.height))
                let drawn = Date()
                frames.record(at: drawn, keyLatency: pendingKey.map { drawn.timeIntervalSince($0) })
                pendingKey = nil
                lastDraw = now
                dirty = false
            }
        }
    }

    private func dispatch(_ event: ConsoleEvent) {
        if case .logRows(let mode, let rows) = event {
            for row in rows {
                recent[mode, default: []].append((row.ts, row.error != nil || (row.statusCode ?? 0) >= 500))
            }
        }
        let previousTheme = state.themeName
        // The reducer works on the one copy of the state, in place (`reduce` is the same function over a copy).
        let effects = Console.apply(&state, event)
        if state.themeName != previousTheme { switchTheme(state.themeName) }
        execute(effects)
    }

    /// Without colour (`NO_COLOR`, a monochrome terminal) every theme degrades to the mono theme's attributes, which
    /// are drawn for that case (reverse header and banner, bold keys); colours otherwise degrade per colour.
    private func effective(_ theme: Theme) -> Theme {
        guard !backend.colorCapable else { return theme }
        return (try? Theme.load("mono", directories: themeDirectories)) ?? Theme.fallback
    }

    private func switchTheme(_ name: String) {
        do {
            theme = try Theme.load(name, directories: themeDirectories)
            backend.apply(effective(theme))
        } catch {
            state.toast = Toast("Theme \(name): \(error.message)", .error)
        }
    }

    // MARK: - Effects

    private func execute(_ effects: [ConsoleEffect]) {
        for effect in effects {
            switch effect {
            case .load(let mode, let pane): load(mode, pane)
            case .loadDetail(let mode, let pane, let id): loadDetail(mode, pane, id)
            case .mutate(let mode, let mutation): mutate(mode, mutation)
            case .copy(let text): backend.copyToClipboard(text)
            case .savePreferences:
                Preferences(theme: state.themeName, mode: state.mode, columns: state.columnWidths).save(preferencesPath)
            case .quit: break
            }
        }
    }

    private func spawn(_ work: @escaping @Sendable () async -> Void) {
        tasks.removeAll { $0.isCancelled }
        tasks.append(Task { await work() })
    }

    private func load(_ mode: Mode, _ pane: Pane) {
        let bridge = bridge
        spawn { [weak self] in
            if let event = await bridge.load(mode, pane) { self?.post(event) }
        }
    }

    private func loadDetail(_ mode: Mode, _ pane: Pane, _ id: String) {
        let bridge = bridge
        spawn { [weak self] in
            if let event = await bridge.loadDetail(mode, pane, id: id) { self?.post(event) }
        }
    }

    private func mutate(_ mode: Mode, _ mutation: ConsoleEffect.Mutation) {
        let bridge = bridge
        spawn { [weak self] in
            let event = await bridge.mutate(mode, mutation)
            self?.post(event)
            self?.postContext(mode)
        }
    }

    // MARK: - Context, configuration changes, logs, statistics

    private func refreshContext(_ mode: Mode) { postContext(mode) }

    private func postContext(_ mode: Mode) {
        if let event = bridge.context(mode) { post(event) }
    }

    /// Another process (the CLI, a second console, the API) changed the configuration: reload what is shown.
    private func pollConfiguration() {
        for (mode, engine) in engines {
            let version = engine.snapshot.version
            if snapshotVersion[mode] != version {
                if snapshotVersion[mode] != nil, mode == state.mode, state.pane != .logs { load(mode, state.pane) }
                snapshotVersion[mode] = version
                postContext(mode)
            }
        }
    }

    private func startLogFeeds() {
        for (mode, engine) in engines {
            // In-process traffic arrives through the sink's stream as the writer stores it…
            spawn { [weak self] in
                for await batch in engine.requestLog.subscribe() {
                    self?.post(.logRows(mode, batch))
                }
            }
            // …and traffic served by another process by tailing the table.
            spawn { [weak self] in
                var after = (try? await engine.lastRequestLogSeq()).map { max(0, $0 - 200) } ?? 0
                while !Task.isCancelled {
                    if let rows = try? await engine.requestLogs(after: after, limit: 5000), let last = rows.last {
                        after = last.seq
                        self?.post(.logRows(mode, rows))
                    }
                    try? await Task.sleep(for: .milliseconds(250))
                }
            }
        }
    }

    private func updateStats(_ now: Date) {
        let windowMillis: Int64 = 5000
        let cutoff = Int64(now.timeIntervalSince1970 * 1000) - windowMillis
        for mode in Mode.allCases {
            var rows = recent[mode] ?? []
            rows.removeAll { $0.ts < cutoff }
            recent[mode] = rows
            let errors = rows.filter(\.error).count
            let stats = HeaderStats(
                requestsPerSecond: Double(rows.count) / Double(windowMillis / 1000),
                errorRate: rows.isEmpty ? 0 : Double(errors) / Double(rows.count),
                dropped: engines[mode]?.requestLog.dropped ?? 0)
            if state.stats[mode] != stats {
                let (next, _) = Console.reduce(state, .stats(mode, stats))
                state = next
            }
        }
    }
}

/// Redraw and input figures of one console run.
public struct FrameStats: Sendable {
    public var count = 0
    public var seconds: Double = 0
    /// The most frames drawn within one wall-clock second.
    public var maxPerSecond = 0
    /// Seconds from a key press to the frame that showed it.
    public var keyLatencies: [Double] = []
    private var currentSecond = 0
    private var inCurrentSecond = 0

    mutating func record(at time: Date, keyLatency: Double?) {
        count += 1
        let second = Int(time.timeIntervalSince1970)
        if second != currentSecond {
            currentSecond = second
            inCurrentSecond = 0
        }
        inCurrentSecond += 1
        maxPerSecond = max(maxPerSecond, inCurrentSecond)
        if let keyLatency, keyLatencies.count < 100_000 { keyLatencies.append(keyLatency) }
    }

    /// One line for the log: frames, rate, and key-to-screen latency percentiles.
    public var summary: String {
        let sorted = keyLatencies.sorted()
        func pct(_ p: Double) -> String {
            guard !sorted.isEmpty else { return "-" }
            return String(format: "%.1f ms", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000)
        }
        let maximum = sorted.last.map { String(format: "%.1f ms", $0 * 1000) } ?? "-"
        return "console frames: \(count) in \(String(format: "%.1f", seconds)) s (max \(maxPerSecond) in one second); "
            + "keys: \(sorted.count), key to screen p50 \(pct(0.5)), p99 \(pct(0.99)), max \(maximum)"
    }
}
