import Foundation
import Testing

/// The module rules of docs/ARCHITECTURE.md, read from the package manifest and the sources. `make test` builds with
/// `--explicit-target-dependency-import-check error`, so a target imports only what it declares; these tests keep the
/// declarations themselves from growing a forbidden edge.
@Suite struct ModuleBoundaryTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The names in a target's `dependencies: [...]` (plain target names and `.product(name:)` names).
    static func dependencies(of target: String) throws -> Set<String> {
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let start = try #require(manifest.range(of: "name: \"\(target)\""), "no target \(target)")
        let rest = manifest[start.upperBound...]
        // The target's own declaration ends where the next target starts.
        let end = rest.range(of: ".target(")?.lowerBound ?? rest.range(of: ".testTarget(")?.lowerBound ?? rest.endIndex
        let declaration = rest[..<end]
        guard let open = declaration.range(of: "dependencies: [") else { return [] }
        var names: Set<String> = []
        var depth = 1
        var i = open.upperBound
        var text = ""
        while i < declaration.endIndex, depth > 0 {
            let c = declaration[i]
            if c == "[" { depth += 1 }
            if c == "]" { depth -= 1 }
            text.append(c)
            i = declaration.index(after: i)
        }
        let quoted = try Regex(#""([A-Za-z0-9_.-]+)""#)
        for match in text.matches(of: quoted) {
            if let name = match.output[1].substring { names.insert(String(name)) }
        }
        return names
    }

    /// The modules the sources of `target` import.
    static func imports(of target: String) throws -> Set<String> {
        let directory = root.appendingPathComponent("Sources").appendingPathComponent(target)
        let files = try #require(FileManager.default.enumerator(atPath: directory.path)).compactMap { $0 as? String }
        var modules: Set<String> = []
        for file in files where file.hasSuffix(".swift") {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n")
            where line.hasPrefix("import ") || line.hasPrefix("@testable import ") {
                modules.insert(String(line.split(separator: " ").last ?? ""))
            }
        }
        return modules
    }

    @Test(arguments: ["KnoxProxy", "KnoxDataPlane", "KnoxNet"])
    func theDataPlaneNeverReachesTheStore(target: String) throws {
        let declared = try Self.dependencies(of: target)
        let imported = try Self.imports(of: target)
        for forbidden in ["KnoxEngine", "KnoxStore", "GRDB", "GRDBSQLite", "KnoxAPI", "KnoxConsole"] {
            #expect(!declared.contains(forbidden), "\(target) declares \(forbidden)")
            #expect(!imported.contains(forbidden), "\(target) imports \(forbidden)")
        }
    }

    @Test func theConsoleNeverTouchesTheStore() throws {
        for forbidden in ["KnoxStore", "GRDB", "GRDBSQLite"] {
            #expect(!(try Self.dependencies(of: "KnoxConsole")).contains(forbidden))
            #expect(!(try Self.imports(of: "KnoxConsole")).contains(forbidden))
        }
    }

    @Test func coreImportsNoProjectModule() throws {
        #expect(try Self.dependencies(of: "KnoxCore").isEmpty)
        #expect(try Self.imports(of: "KnoxCore").allSatisfy { !$0.hasPrefix("Knox") && !$0.hasPrefix("C") })
    }

    /// The manifest reader itself: it sees the proxy's real dependencies (so an empty answer cannot pass for clean).
    @Test func theManifestReaderSeesDependencies() throws {
        let proxy = try Self.dependencies(of: "KnoxProxy")
        #expect(proxy.isSuperset(of: ["KnoxCore", "KnoxDataPlane", "KnoxNet", "NIOCore"]))
        #expect(try Self.dependencies(of: "KnoxEngine").contains("KnoxStore"))
        #expect(try Self.imports(of: "KnoxEngine").contains("KnoxStore"))
    }
}
