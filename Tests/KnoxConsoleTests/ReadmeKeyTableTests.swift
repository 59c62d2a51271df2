import Foundation
import Testing

@testable import KnoxConsole

/// The README's key table is the console's own (`KeyTable.markdown`), so the documentation cannot drift from the
/// keys that dispatch. `KNOXCALL_UPDATE_GOLDENS=1 swift test --filter ReadmeKeyTableTests` rewrites it.
@Suite struct ReadmeKeyTableTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "../../README.md")
    static let begin = "<!-- key table: generated from KeyTable, do not edit by hand -->\n"
    static let end = "<!-- end of key table -->"

    @Test func readmeShowsTheKeyTable() throws {
        let text = try String(contentsOf: Self.readme, encoding: .utf8)
        guard let start = text.range(of: Self.begin),
            let stop = text.range(of: Self.end, range: start.upperBound..<text.endIndex)
        else {
            Issue.record("README.md lacks the key table markers")
            return
        }
        let current = String(text[start.upperBound..<stop.lowerBound])
        if current != KeyTable.markdown && ProcessInfo.processInfo.environment["KNOXCALL_UPDATE_GOLDENS"] == "1" {
            try (text[..<start.upperBound] + KeyTable.markdown + text[stop.lowerBound...])
                .write(to: Self.readme, atomically: true, encoding: .utf8)
            return
        }
        #expect(current == KeyTable.markdown, "README.md's key table differs from KeyTable; regenerate it")
    }

    @Test func everyDispatchedBindingIsInTheTable() {
        let table = KeyTable.markdown
        for binding in KeyTable.bindings where binding.showInHelp {
            #expect(table.contains(binding.description), "\(binding.keyLabel) is missing from the table")
        }
        #expect(table.contains("Open a pane: 1 Routes"))
        #expect(table.contains("`ctrl-s` | Save"))
    }
}
