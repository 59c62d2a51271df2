import Testing

@testable import KnoxCore

@Suite struct TOMLTests {
    // MARK: Values

    @Test func emptyDocuments() throws {
        #expect(try TOML.parse("") == JSONObject())
        #expect(try TOML.parse("\n  # only a comment\n\t\n") == JSONObject())
    }

    @Test func integers() throws {
        let doc = try TOML.parse(
            """
            port = 8080
            negative = -17
            plus = +42
            zero = 0
            negativeZero = -0
            grouped = 1_000_000
            largest = 9_223_372_036_854_775_807
            smallest = -9223372036854775808
            hex = 0xDEAD_beef
            paddedHex = 0x00ff
            octal = 0o755
            binary = 0b1101
            """)
        #expect(doc["port"] == .int(8080))
        #expect(doc["negative"] == .int(-17))
        #expect(doc["plus"] == .int(42))
        #expect(doc["zero"] == .int(0))
        #expect(doc["negativeZero"] == .int(0))
        #expect(doc["grouped"] == .int(1_000_000))
        #expect(doc["largest"] == .int(Int.max))
        #expect(doc["smallest"] == .int(Int.min))
        #expect(doc["hex"] == .int(0xDEAD_BEEF))
        #expect(doc["paddedHex"] == .int(255))
        #expect(doc["octal"] == .int(493))
        #expect(doc["binary"] == .int(13))
    }

    @Test func floats() throws {
        let doc = try TOML.parse(
            """
            ratio = 0.25
            negative = -3.5
            exponent = 6.5e-3
            upper = 2E3
            signedExponent = 1e+2
            paddedExponent = 3e05
            grouped = 1_000.000_5
            zero = -0.0
            """)
        #expect(doc["ratio"] == .double(0.25))
        #expect(doc["negative"] == .double(-3.5))
        #expect(doc["exponent"] == .double(0.0065))
        #expect(doc["upper"] == .double(2000))
        #expect(doc["signedExponent"] == .double(100))
        #expect(doc["paddedExponent"] == .double(300_000))
        #expect(doc["grouped"] == .double(1000.0005))
        #expect(doc["zero"] == .double(0))
    }

    @Test func booleansDatesAndTimes() throws {
        let doc = try TOML.parse(
            """
            on = true
            off = false
            utc = 1979-05-27T07:32:00Z
            offset = 1979-05-27T00:32:00.999999-07:00
            spaced = 1979-05-27 07:32:00+01:30
            lowercase = 1979-05-27t07:32:00z
            local = 1979-05-27T07:32:00
            day = 2024-02-29
            centuryLeap = 2000-02-29
            time = 00:32:00.5
            leapSecond = 23:59:60
            """)
        #expect(doc["on"] == true)
        #expect(doc["off"] == false)
        #expect(doc["utc"] == "1979-05-27T07:32:00Z")
        #expect(doc["offset"] == "1979-05-27T00:32:00.999999-07:00")
        #expect(doc["spaced"] == "1979-05-27 07:32:00+01:30")
        #expect(doc["lowercase"] == "1979-05-27t07:32:00z")
        #expect(doc["local"] == "1979-05-27T07:32:00")
        #expect(doc["day"] == "2024-02-29")
        #expect(doc["centuryLeap"] == "2000-02-29")
        #expect(doc["time"] == "00:32:00.5")
        #expect(doc["leapSecond"] == "23:59:60")
    }

    @Test func basicAndLiteralStrings() throws {
        let doc = try TOML.parse(
            #"""
            basic = "tab\there \"quoted\" back\\slash \u00E9 \U0001F600 \b\f\r\n"
            literal = 'C:\Users\knox\*.toml'
            empty = ""
            emptyLiteral = ''
            hash = "# not a comment" # but this is
            unicode = "héllo wörld ✓"
            """#)
        #expect(doc["basic"] == "tab\there \"quoted\" back\\slash é 😀 \u{08}\u{0C}\r\n")
        #expect(doc["literal"] == #"C:\Users\knox\*.toml"#)
        #expect(doc["empty"] == "")
        #expect(doc["emptyLiteral"] == "")
        #expect(doc["hash"] == "# not a comment")
        #expect(doc["unicode"] == "héllo wörld ✓")
    }

    @Test func multilineBasicStrings() throws {
        let doc = try TOML.parse(
            #"""
            poem = """
            Roses are red
            Violets are "blue" ""
            """
            folded = """\
                The quick \
                brown fox.\
                """
            escapes = """a\tb\u0041"""
            oneQuote = """x""""
            twoQuotes = """""ab"""""
            """#)
        #expect(doc["poem"] == "Roses are red\nViolets are \"blue\" \"\"\n")
        #expect(doc["folded"] == "The quick brown fox.")
        #expect(doc["escapes"] == "a\tbA")
        #expect(doc["oneQuote"] == "x\"")
        #expect(doc["twoQuotes"] == "\"\"ab\"\"")
    }

    @Test func multilineLiteralStrings() throws {
        let doc = try TOML.parse(
            #"""
            regex = '''
            I [dw]on't need \d{2} apples'''
            lines = '''
            first
              second
            '''
            quoted = ''''one' and ''two'''''
            """#)
        #expect(doc["regex"] == "I [dw]on't need \\d{2} apples")
        #expect(doc["lines"] == "first\n  second\n")
        #expect(doc["quoted"] == "'one' and ''two''")
    }

    @Test func arrays() throws {
        let doc = try TOML.parse(
            """
            ports = [ 80, 443 ]
            empty = []
            nested = [ [1, 2], ["a"] ]
            mixed = [
              1, "two", 2.5, # a comment
              [true],
              { k = 'v' },   # a trailing comma is fine
            ]
            """)
        let mixed: JSONValue = [1, "two", .double(2.5), [true], ["k": "v"]]
        #expect(doc["ports"] == [80, 443])
        #expect(doc["empty"] == [])
        #expect(doc["nested"] == [[1, 2], ["a"]])
        #expect(doc["mixed"] == mixed)
    }

    @Test func inlineTables() throws {
        let doc = try TOML.parse(
            """
            point = { x = 1, y = -2 }
            empty = {}
            dotted = { a.b = 1, a.c = 2, "q" = 'x' }
            list = [ { name = "a" }, { name = "b" } ]
            nested = { inner = { deep = true } }
            """)
        let dotted: JSONValue = ["a": ["b": 1, "c": 2], "q": "x"]
        #expect(doc["point"] == ["x": 1, "y": -2])
        #expect(doc["empty"] == [:])
        #expect(doc["dotted"] == dotted)
        #expect(doc["list"] == [["name": "a"], ["name": "b"]])
        #expect(doc["nested"] == ["inner": ["deep": true]])
        #expect(doc["point"]?.objectValue?.keys == ["x", "y"])
    }

    // MARK: Keys and tables

    @Test func keys() throws {
        let doc = try TOML.parse(
            #"""
            bare_key-1 = 1
            1234 = "digits"
            "quoted key" = 2
            'literal "key"' = 3
            "" = 4
            "a.b" = 5
            site . "google.com" . 'www' = true
            3.14 = "pi"
            """#)
        let expected: JSONObject = [
            "bare_key-1": 1, "1234": "digits", "quoted key": 2, "literal \"key\"": 3, "": 4, "a.b": 5,
            "site": ["google.com": ["www": true]], "3": ["14": "pi"],
        ]
        #expect(doc == expected)
        #expect(doc.keys == ["bare_key-1", "1234", "quoted key", "literal \"key\"", "", "a.b", "site", "3"])
    }

    @Test func tablesAndDottedKeys() throws {
        let doc = try TOML.parse(
            """
            name = "root"

            [server]
            host = "0.0.0.0"
            tls.enabled = true
            tls.cert = "a.pem"

              [server.limits]   # indented headers are fine
              rps = 100

            [x.y.z]
            [x]
            w = 1
            """)
        let server: JSONValue = [
            "host": "0.0.0.0", "tls": ["enabled": true, "cert": "a.pem"], "limits": ["rps": 100],
        ]
        let x: JSONValue = ["y": ["z": [:]], "w": 1]
        #expect(doc == ["name": "root", "server": server, "x": x])
        #expect(doc.keys == ["name", "server", "x"])
        #expect(doc["server"]?.objectValue?.keys == ["host", "tls", "limits"])
        #expect(doc["x"]?.objectValue?.keys == ["y", "w"])
    }

    @Test func headersMayPassThroughDottedTables() throws {
        let doc = try TOML.parse(
            """
            [fruit]
            apple.color = "red"
            apple.taste.sweet = true

            [fruit.apple.texture]
            smooth = true
            """)
        let apple: JSONValue = ["color": "red", "taste": ["sweet": true], "texture": ["smooth": true]]
        #expect(doc == ["fruit": ["apple": apple]])
    }

    @Test func arraysOfTables() throws {
        let doc = try TOML.parse(
            """
            [[routes]]
            path = "/a"

            [[routes]]
            path = "/b"
            [routes.auth]
            kind = "key"
            [[routes.methods]]
            verb = "GET"
            [[routes.methods]]
            verb = "POST"

            [[other]]
            """)
        let second: JSONValue = [
            "path": "/b", "auth": ["kind": "key"], "methods": [["verb": "GET"], ["verb": "POST"]],
        ]
        let routes: JSONValue = [["path": "/a"], second]
        #expect(doc == ["routes": routes, "other": [[:]]])
    }

    @Test func crlfLineEndings() throws {
        let doc = try TOML.parse("a = 1\r\n# note\r\n[t]\r\nb = \"x\" # c\r\nml = \"\"\"\r\none\r\ntwo\"\"\"\r\n")
        #expect(doc == ["a": 1, "t": ["b": "x", "ml": "one\ntwo"]])
    }

    @Test func byteOrderMark() throws {
        #expect(try TOML.parse("\u{FEFF}a = 1\n") == ["a": 1])
        #expect(throws: TOMLError(line: 1, column: 5, message: "expected a value")) { try TOML.parse("\u{FEFF}a = ?") }
        #expect(throws: TOMLError.self) { try TOML.parse("a = 1\n\u{FEFF}b = 2") }
    }

    // MARK: Refusals

    @Test(arguments: [
        // Inputs that made toml++ abort the process.
        "normal = [}", "[é]", "[,", "[]", "a = [[1] ]]", "# nul \u{0} in a comment", #"a = "\uD800""#,
        "[\u{01}\u{0}]\nx = 1",
        // Keys and tables defined twice or redefined.
        "a = 1\na = 2", "[t]\n[t]", "a = 1\n[a]", "[a]\nb = 1\n[a.b]", "a = {}\n[a]", "a = { b = 1 }\n[a.c]",
        "a = { b = 1 }\na.c = 2", "a = [1]\n[[a]]", "[[a]]\n[a]", "[a]\n[[a]]", "[x]\ny.z = 1\n[x.y]",
        "[a.b.c]\n[a]\nb.c.d = 1", "[[a]]\nb = 1\n[a.b]", "[a.b]\n[a]\n[a]", "a.b = 1\na = 2",
        // Inline tables.
        "a = { b = 1, }", "a = { b = 1,\n c = 2 }", "a = {\n}", "a = { x = 1, x = 2 }", "a = { b.c = 1, b = 2 }",
        "a = { b = 1 } c = 2",
        // Strings.
        #"a = "\q""#, #"a = "\u12""#, #"a = "\U00110000""#, #"a = "tab\ "#, "a = \"abc", "a = \"\"\"abc",
        "a = '''abc''", "a = 'abc\ndef'", "a = \"x\u{7F}\"", "a = 'x\u{1B}'", "\"\"\"key\"\"\" = 1",
        "a = \"\"\"x\"\"\"\"\"\"", "a = \"\"\"\r\"\"\"",
        // Numbers.
        "a = 01", "a = -01.5", "a = 1__0", "a = _1", "a = 1_", "a = 9223372036854775808",
        "a = -9223372036854775809", "a = 0xG", "a = +0x1", "a = 0x", "a = 0X1", "a = 0b102", "a = 1.", "a = .5",
        "a = 1e", "a = 1.5e+", "a = 1._5", "a = 1.5.6", "a = nan", "a = -inf", "a = +nan", "a = 1e400",
        // Booleans, dates and times.
        "a = True", "a = tru", "a = 2023-02-29", "a = 1900-02-29", "a = 2024-13-01", "a = 2024-04-31",
        "a = 24:00:00", "a = 12:60:00", "a = 12:00:61", "a = 12:30", "a = 1979-05-27T07:32", "a = 07:32:00Z",
        "a = 1979-05-27T07:32:00+24:00", "a = 1979-05-27T07:32:00.", "a = 1979-05-27 07:32", "a = 1979-5-27",
        // Arrays.
        "a = [1 2]", "a = [,]", "a = [1,,2]", "a = [1",
        // Lines and syntax.
        "a = 1 b = 2", "a =", "= 1", "a.b. = 1", "a = 1\rb = 2", "[a]]", "[[a] ]", "[a\nb]", "[a] x = 1",
        "key\u{0B} = 1", "a = 1 # ok\u{1F}", "a = 1\n\u{FEFF}b = 2", "a\n= 1",
    ])
    func refusesMalformed(_ text: String) {
        #expect(throws: TOMLError.self, "\(text.debugDescription)") { try TOML.parse(text) }
    }

    @Test func reportsWhereAndWhat() {
        let cases: [(String, TOMLError)] = [
            ("normal = [}", TOMLError(line: 1, column: 11, message: "expected a value")),
            ("[é]", TOMLError(line: 1, column: 2, message: "expected a key")),
            ("[,", TOMLError(line: 1, column: 2, message: "expected a key")),
            ("[]", TOMLError(line: 1, column: 2, message: "expected a key")),
            ("a = [[1] ]]", TOMLError(line: 1, column: 11, message: "expected the end of the line after the value")),
            ("# x\u{0}", TOMLError(line: 1, column: 4, message: "control character U+0000 is not allowed")),
            (
                "a = " + String(repeating: "1", count: 1001),
                TOMLError(line: 1, column: 5, message: "a number of more than 1000 characters")
            ),
            (
                #"a = "\uD800""#,
                TOMLError(line: 1, column: 6, message: "invalid escape: U+D800 is not a Unicode scalar value")
            ),
            ("port = 1\nport = 2\n", TOMLError(line: 2, column: 1, message: #"key "port" is defined twice"#)),
            (
                "[data_plane]\na = 1\n\n[data_plane]\n",
                TOMLError(line: 4, column: 1, message: "table [data_plane] is defined twice")
            ),
            (#"a = "x\qy""#, TOMLError(line: 1, column: 7, message: #"invalid escape \q"#)),
            ("a = 1\n# x\u{01}\n", TOMLError(line: 2, column: 4, message: "control character U+0001 is not allowed")),
            ("n = 007", TOMLError(line: 1, column: 5, message: "leading zeros are not allowed")),
            ("name \"x\"", TOMLError(line: 1, column: 6, message: "expected = after the key")),
            ("a = 1\nb = \"abc\n", TOMLError(line: 2, column: 5, message: "unterminated string")),
            (
                "[a]\nb.c = 1\n[a.b]\n",
                TOMLError(line: 3, column: 1, message: "table [a.b] is already defined by dotted keys")
            ),
            (
                "a = 1\rb = 2",
                TOMLError(line: 1, column: 6, message: "a carriage return must be followed by a line feed")
            ),
            ("a = 1\r\nb = \r\n", TOMLError(line: 2, column: 5, message: "expected a value")),
            ("a = nan", TOMLError(line: 1, column: 5, message: "nan is not allowed here")),
            ("a = 9223372036854775808", TOMLError(line: 1, column: 5, message: "integer is out of range")),
            ("a = [1]\n[[a]]", TOMLError(line: 2, column: 1, message: #"cannot append to the static array "a""#)),
            ("a = { b = 1 }\na.c = 2", TOMLError(line: 2, column: 1, message: #"inline table "a" cannot be extended"#)),
            ("d = 2023-02-29", TOMLError(line: 1, column: 13, message: "invalid day 29 for month 2")),
            ("a = 1_", TOMLError(line: 1, column: 6, message: "an underscore must be between digits")),
            ("[[t]]\n[t]", TOMLError(line: 2, column: 1, message: "table [t] is already an array of tables")),
        ]
        for (text, expected) in cases {
            #expect(throws: expected, "\(text.debugDescription)") { try TOML.parse(text) }
        }
    }

    @Test func describesErrors() {
        let error = TOMLError(line: 3, column: 7, message: "expected a value")
        #expect(error.description == "line 3, column 7: expected a value")
    }

    // MARK: Depth and robustness

    @Test func limitsNestingTo64Levels() {
        let arrays64 = "a = " + String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try TOML.parse(arrays64) }
        let arrays100 = "a = " + String(repeating: "[", count: 100)
        #expect(throws: TOMLError(line: 1, column: 69, message: "nested deeper than 64")) {
            try TOML.parse(arrays100)
        }
        let inline64 = "a = " + String(repeating: "{ b = ", count: 64) + "1" + String(repeating: " }", count: 64)
        #expect(throws: Never.self) { try TOML.parse(inline64) }
        let inline65 = "a = " + String(repeating: "{ b = ", count: 65) + "1" + String(repeating: " }", count: 65)
        #expect(throws: TOMLError.self) { try TOML.parse(inline65) }
        // Headers and dotted keys count too: the limit is on the whole document's depth.
        let header64 = "[" + Array(repeating: "k", count: 64).joined(separator: ".") + "]"
        #expect(throws: Never.self) { try TOML.parse(header64) }
        let header65 = "[" + Array(repeating: "k", count: 65).joined(separator: ".") + "]"
        #expect(throws: TOMLError.self) { try TOML.parse(header65) }
        let dotted66 = Array(repeating: "k", count: 66).joined(separator: ".") + " = 1"
        #expect(throws: TOMLError.self) { try TOML.parse(dotted66) }
        let arraysInTable = "[t]\na = " + String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: TOMLError.self) { try TOML.parse(arraysInTable) }
    }

    /// Every prefix of a document that uses most of the grammar, and every one-scalar change of it from a few
    /// troublesome scalars, either parses or throws (a trap would end the test run).
    @Test func neverTrapsOnMangledInput() {
        let sample = #"""
            # KnoxCall
            title = "gateway \u00E9\n"
            [data_plane]
            listen = "0.0.0.0:8443"
            ports = [ 80, 443, ]
            limits = { rps = 1_000, burst = 2.5e1, on = true }
            started = 1979-05-27T07:32:00-08:00
            note = '''
            raw \n text'''
            ml = """
            a \
              b"""
            [[routes]]
            path = '/a'
            hex = 0xff
            [routes.auth]
            kind.name = "key"
            """#
        #expect(throws: Never.self) { try TOML.parse(sample) }
        let scalars = Array(sample.unicodeScalars)
        for end in 0...scalars.count {
            _ = try? TOML.parse(Self.text(scalars[..<end]))
        }
        let replacements: [Unicode.Scalar] = ["[", "]", "{", "\"", "'", "=", ".", ",", "\\", "\n", "\r", "\u{0}", "_"]
        for position in scalars.indices {
            for replacement in replacements {
                var copy = scalars
                copy[position] = replacement
                _ = try? TOML.parse(Self.text(copy[...]))
            }
        }
    }

    private static func text(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var out = ""
        out.unicodeScalars.append(contentsOf: scalars)
        return out
    }
}
