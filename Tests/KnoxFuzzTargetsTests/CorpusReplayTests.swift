import Foundation
import KnoxFuzzTargets
import Testing

/// Every committed seed (fuzz/corpus/<target>) and every past finding (fuzz/findings/<target>) through its fuzz
/// target, in the ordinary test run: a property broken by one of them stops the test process with the target's message.
@Suite struct CorpusReplayTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fuzz")

    static func inputs(_ target: FuzzTarget, in kind: String) -> [[UInt8]] {
        let dir = fuzzDirectory.appendingPathComponent(kind).appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().compactMap { FileManager.default.contents(atPath: dir.appendingPathComponent($0).path) }
            .map { [UInt8]($0) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func seedsAndFindingsKeepEveryProperty(_ target: FuzzTarget) {
        let seeds = Self.inputs(target, in: "corpus")
        #expect(seeds.count >= 5, "fuzz/corpus/\(target.rawValue) holds the target's seeds")
        for input in seeds + Self.inputs(target, in: "findings") { target.run(input) }
    }
}
