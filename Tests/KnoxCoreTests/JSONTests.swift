import Testing

@testable import KnoxCore

@Suite struct JSONTests {
    @Test func parsesAndKeepsKeyOrder() throws {
        let v = try JSONValue.parse(#"{"b":1,"a":[true,false,null],"c":{"x":"y"}}"#)
        #expect(v.objectValue?.keys == ["b", "a", "c"])
        #expect(v.serialized() == #"{"b":1,"a":[true,false,null],"c":{"x":"y"}}"#)
    }

    @Test func numbersRoundTripExactly() throws {
        let text = #"[12345678901234567890,-0.5,1e400,3.0,0]"#
        #expect(try JSONValue.parse(text).serialized() == text)
        #expect(try JSONValue.parse("42").intValue == 42)
        #expect(try JSONValue.parse("4.2").intValue == nil)
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", #"{"a":}"#, #"{"a" 1}"#, "01", "1.", "-", "tru", #""\x""#, "\"a\u{01}\"", "[1] 2",
        #"{"a":1,"a":2}"#, #""\ud800""#, "nul",
    ])
    func refusesMalformed(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func reportsDuplicateKeyWithOffset() {
        do {
            _ = try JSONValue.parse(#"{"a":1,"a":2}"#)
            Issue.record("duplicate key accepted")
        } catch {
            #expect(error.reason.contains("duplicate key \"a\""))
            #expect(error.offset == 7)
        }
    }

    @Test func refusesDeepNesting() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSONValue.parse(ok) }
    }

    @Test func refusesInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test func decodesEscapesAndSurrogates() throws {
        let v = try JSONValue.parse(#""a\n\t\"\\\/\u00e9\ud83d\ude00""#)
        #expect(v.stringValue == "a\n\t\"\\/é😀")
    }

    @Test func escapesControlCharactersOnOutput() {
        let v = JSONValue.string("line\nbreak\u{01}\u{2028}\"")
        #expect(v.serialized() == #""line\nbreak\u0001\u2028\"""#)
        #expect((try? JSONValue.parse(v.serialized())) == v)
    }

    @Test func objectRemovesAndReplaces() {
        var o: JSONObject = ["a": 1, "b": 2]
        o["a"] = nil
        o["c"] = 3
        o["b"] = 4
        #expect(o.keys == ["b", "c"])
        #expect(JSONValue.object(o).serialized() == #"{"b":4,"c":3}"#)
    }
}
