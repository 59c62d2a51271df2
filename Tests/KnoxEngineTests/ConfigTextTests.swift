import KnoxCore
import KnoxDataPlane
import Testing

@testable import KnoxEngine

/// Found by the `config` fuzz target (fuzz/findings/config): a control byte in a table header made the TOML
/// parser abort the process. Such text is now refused before it is parsed, with the place of the byte.
@Suite struct ConfigTextTests {
    @Test(arguments: [
        "[\u{01}\0\0\0\0\0\0\0\0Aive_api = \"12803\"\n", "[listen]\nlive_api = \"127.0.0.1:8700\u{7F}\"\n",
        "a = 1\n\u{0B}",
    ])
    func controlCharactersAreRefusedWithTheirPlace(_ text: String) {
        #expect(throws: ConfigError.self) { try KnoxConfig.parse(text, file: "c.toml") }
        do {
            _ = try KnoxConfig.parse(text, file: "c.toml")
        } catch {
            #expect(error.file == "c.toml")
            #expect(error.message.contains("control character U+"))
            #expect(error.message.hasPrefix("line "))
        }
    }

    @Test func theLineAndColumnAreThoseOfTheByte() {
        do {
            _ = try KnoxConfig.parse("[listen]\n\tlive_api\u{1B} = 1\n", file: "c.toml")
            Issue.record("accepted")
        } catch {
            #expect(error.message == "line 2, column 10: control character U+001B is not allowed in TOML")
        }
    }

    /// Also from the fuzz targets: a table name starting with anything but a bare-key character or a quote aborted the
    /// parser too.
    @Test(arguments: [
        "[é]\n", "[ é]\n", "[[é]]\n", "a = 1\n  [\u{FFFD}nt]\nrate = 1\n", "[,r", "[~ist.1:8en]\n", "[]\n",
        "\u{FEFF}[,\u{FEFF}r", "\r\n[\r\r\n\r\r", " [\u{07ED}(",
    ])
    func aTableNameThatCannotStartAKeyIsRefused(_ text: String) {
        do {
            _ = try KnoxConfig.parse(text, file: "c.toml")
            Issue.record("accepted")
        } catch {
            #expect(error.message.hasSuffix("a table name starts with a letter, digit, _ or -, or is quoted (\"…\")"))
        }
    }

    @Test func quotedAndDottedNonASCIINamesStillParse() {
        // Unknown tables are refused by KnoxCall itself, with the name, after a successful parse.
        do {
            _ = try KnoxConfig.parse("[\"é\"]\n", file: "c.toml")
            Issue.record("accepted")
        } catch {
            #expect(!error.message.contains("a table name starts with"))
        }
    }

    @Test func tabsLineFeedsAndCarriageReturnsStayAllowed() throws {
        let config = try KnoxConfig.parse("[listen]\r\n\tlive_api = \"127.0.0.1:9700\"\t# comment\r\n", file: "c.toml")
        #expect(config.liveAPI.port == 9700)
    }

    /// The README's `shutdown_grace_sec` was refused as an unknown key in both tables (found while reviewing issue 20).
    @Test func shutdownGraceIsReadInBothTables() throws {
        let config = try KnoxConfig.parse(
            "[data_plane]\nshutdown_grace_sec = 5\n[management]\nshutdown_grace_sec = 2.5\n", file: "c.toml")
        #expect(config.dataPlaneLimits.shutdownGraceSec == 5)
        #expect(config.managementLimits.shutdownGraceSec == 2.5)
        #expect(KnoxConfig().dataPlaneLimits.shutdownGraceSec == 30)
        #expect(throws: ConfigError.self) {
            try KnoxConfig.parse("[data_plane]\nshutdown_grace_sec = -1\n", file: "c.toml")
        }
    }
}
