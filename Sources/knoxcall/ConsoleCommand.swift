import ArgumentParser
import Dispatch
import Foundation
import KnoxConsole
import KnoxCore
import KnoxEngine
import Logging
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// `knoxcall console` (and `knoxcall` alone): the ncurses admin console, with the whole engine in-process.
struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Open the admin console (runs the engine, both APIs and both data planes in-process).")

    @OptionGroup var data: DataOptions
    @OptionGroup var listen: ListenFlags
    @Flag(help: "Do not listen: only the console (another process may serve the traffic).")
    var noListen = false
    @Option(help: "Theme: dark, light, high-contrast, mono, or a file name in --theme-dir (default: the last used).")
    var theme: String?
    @Option(help: "A directory with more theme files.")
    var themeDir: String?
    @Flag(help: "Leave the mouse to the terminal (no click or wheel handling).")
    var noMouse = false

    func validate() throws {
        try listen.check()
        if let theme, !theme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            throw ValidationError("--theme must be a theme name such as dark, light, high-contrast or mono")
        }
    }

    func run() async throws {
        guard isatty(STDIN_FILENO) != 0, isatty(STDOUT_FILENO) != 0 else {
            throw Failure("the console needs a terminal; use `knoxcall serve` to run headless")
        }
        let directory = try data.directory()
        // Log lines would tear the screen: they go to <data>/knoxcall.log while the console runs.
        let logger = Logging.toFile(
            label: "knoxcall", path: (directory.path as NSString).appendingPathComponent("knoxcall.log"))
        let host = try await Host.start(
            directory: directory, listen: listen.options, listening: !noListen, logger: logger)
        let themeDirs = Theme.searchDirectories(dataDirectory: directory.path, explicit: themeDir)
        // A theme named by flag or config must exist (a typo is an error, not a silent fallback).
        let chosenTheme = theme ?? host.boot.config.consoleTheme
        if let chosenTheme {
            do {
                _ = try Theme.load(chosenTheme, directories: themeDirs)
            } catch {
                throw Failure(error.description)
            }
        }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? ""
        let shownPath =
            !home.isEmpty && directory.path.hasPrefix(home)
            ? "~" + directory.path.dropFirst(home.count) : directory.path
        let app = ConsoleApp(
            engines: Dictionary(uniqueKeysWithValues: Mode.allCases.map { ($0, host.boot.engine($0)) }),
            deployment: Deployment(
                dataDirectory: shownPath, apiAddress: host.apiAddress, proxyAddress: host.proxyAddress),
            preferencesPath: directory.preferencesPath, themeName: chosenTheme, themeDirectories: themeDirs,
            useMouse: !noMouse && host.boot.config.consoleMouse,
            useColor: ProcessInfo.processInfo.environment["NO_COLOR"].map(\.isEmpty) ?? true)
        // SIGTERM / SIGINT end the console the same way `q` does: the terminal is restored, services stop.
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let sources = [SIGTERM, SIGINT].map { signo -> DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
            source.setEventHandler { app.requestStop() }
            source.resume()
            return source
        }
        let group = ServiceGroup(configuration: .init(services: host.services, logger: logger))
        let engine = Task { try await group.run() }
        await app.run()
        logger.info("\(app.frames.summary)")
        for source in sources { source.cancel() }
        await group.triggerGracefulShutdown()
        _ = await engine.result
    }
}
