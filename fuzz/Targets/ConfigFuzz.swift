import KnoxConsole
import KnoxCore
import KnoxDataPlane
import KnoxEngine

/// `config.toml` and theme files: every input is either read or refused with a message naming the file.
enum ConfigFuzz {
    static func config(_ input: [UInt8]) {
        do {
            _ = try KnoxConfig.parse(String(decoding: input, as: UTF8.self), file: "fuzz.toml")
        } catch {
            FuzzCheck(error.file == "fuzz.toml" && !error.message.isEmpty, "a config error without its file or reason")
        }
    }

    static func theme(_ input: [UInt8]) {
        do {
            let theme = try Theme.parse(String(decoding: input, as: UTF8.self), name: "fuzz", file: "fuzz.toml")
            FuzzCheck(theme.styles[.normal] != nil, "a theme without its normal style")
        } catch {
            FuzzCheck(error.file == "fuzz.toml" && !error.message.isEmpty, "a theme error without its file or reason")
        }
    }
}
