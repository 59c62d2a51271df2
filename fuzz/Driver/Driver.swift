import Foundation
import KnoxFuzzTargets

// Built with -DKNOX_LIBFUZZER and -sanitize=fuzzer (scripts/fuzz.sh), this is a libFuzzer binary: KNOX_FUZZ_TARGET
// names the target, and libFuzzer's own main takes the corpus directories and options. Built plainly, it replays
// files: `knoxcall-fuzz TARGET FILE|DIR…` runs each input once (a crash reproduces as it did under the fuzzer).
#if KNOX_LIBFUZZER
    nonisolated(unsafe) private var selected: FuzzTarget?

    @_cdecl("LLVMFuzzerTestOneInput")
    public func knoxFuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
        if selected == nil {
            let name = ProcessInfo.processInfo.environment["KNOX_FUZZ_TARGET"] ?? ""
            guard let target = FuzzTarget(rawValue: name) else {
                fatalError(
                    "KNOX_FUZZ_TARGET must be one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            selected = target
        }
        selected?.run(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : count))
        return 0
    }

    /// libFuzzer's entry for a program with a main of its own (the package manager links executables to their module's
    /// main, so libFuzzer's `main` is not used).
    @_silgen_name("LLVMFuzzerRunDriver")
    private func runDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    @main struct FuzzMain {
        static func main() {
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            exit(runDriver(&argc, &argv, knoxFuzzOne))
        }
    }
#else
    @main struct Replay {
        static func main() {
            let arguments = CommandLine.arguments.dropFirst()
            guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
                FileHandle.standardError.write(
                    Data(
                        "usage: knoxcall-fuzz TARGET FILE|DIR…  (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))\n"
                            .utf8))
                exit(2)
            }
            var inputs = 0
            for path in arguments.dropFirst() {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                    FileHandle.standardError.write(Data("knoxcall-fuzz: no such file: \(path)\n".utf8))
                    exit(2)
                }
                let files =
                    isDirectory.boolValue
                    ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map {
                        path + "/" + $0
                    } : [path]
                for file in files {
                    guard let data = FileManager.default.contents(atPath: file) else { continue }
                    target.run([UInt8](data))
                    inputs += 1
                }
            }
            print("\(target.rawValue): \(inputs) inputs, no finding")
        }
    }
#endif
