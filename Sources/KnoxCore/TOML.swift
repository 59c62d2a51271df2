/// Why a TOML document could not be parsed, and where.
public struct TOMLError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The line of the problem, from 1.
    public let line: Int
    /// The column of the problem, from 1, counted in Unicode scalars (a leading byte-order mark is not counted).
    public let column: Int
    /// What is wrong, in a few words.
    public let message: String

    public var description: String { "line \(line), column \(column): \(message)" }
}

/// A strict TOML 1.0.0 parser (https://toml.io/en/v1.0.0) that never traps: every input either parses or throws.
public enum TOML {
    /// Parses a whole TOML 1.0 document into a JSON object (tables → objects, arrays → arrays,
    /// integers → JSONValue.int, floats → JSONValue.double, dates/times → their text as .string).
    ///
    /// `inf` and `nan` are refused: a `JSONValue` number cannot hold them. Line endings inside multi-line
    /// strings are read as "\n" whether the file has LF or CRLF. Tables, arrays and inline tables may nest
    /// at most 64 levels deep, counted over the whole document.
    public static func parse(_ text: String) throws(TOMLError) -> JSONObject {
        var parser = TOMLParser(text: text)
        return try parser.parseDocument()
    }
}

// MARK: - The document being built

/// How a table came to exist, which decides what may still add to it.
private enum TOMLTableKind {
    /// Created on the path of a header (`a` for `[a.b]`); its own header may still define it, once.
    case implicit
    /// Defined by its own header; also the root and every inline table.
    case explicit
    /// Created by a dotted key (`a` for `a.b = 1`); more dotted keys may add to it, headers may only pass through it.
    case dotted
}

private enum TOMLNode {
    /// A value that can no longer change: a scalar, a static array, an inline table.
    case value(JSONValue)
    case table(TOMLTableNode)
    case tableArray(TOMLTableArray)

    var json: JSONValue {
        switch self {
        case .value(let value): value
        case .table(let table): .object(table.json())
        case .tableArray(let array): .array(array.tables.map { JSONValue.object($0.json()) })
        }
    }
}

private final class TOMLTableNode {
    var kind: TOMLTableKind
    /// How deep the table sits in the document: the root is 0, a table in an array of tables is two below its parent.
    let level: Int
    private var keys: [String] = []
    private var entries: [String: TOMLNode] = [:]

    init(kind: TOMLTableKind, level: Int) {
        self.kind = kind
        self.level = level
    }

    subscript(key: String) -> TOMLNode? { entries[key] }

    /// Adds a key the table does not have yet.
    func add(_ key: String, _ node: TOMLNode) {
        if entries.updateValue(node, forKey: key) == nil { keys.append(key) }
    }

    /// The table as JSON, keys in the order they were first written.
    func json() -> JSONObject {
        var object = JSONObject()
        for key in keys {
            guard let node = entries[key] else { continue }
            object[key] = node.json
        }
        return object
    }
}

private final class TOMLTableArray {
    var tables: [TOMLTableNode]

    init(first: TOMLTableNode) { tables = [first] }
}

// MARK: - The parser

/// A recursive-descent parser over the document's Unicode scalars.
private struct TOMLParser {
    /// The deepest level a table, array or inline table may sit at; the parser recurses once per level.
    private static let maxDepth = 64

    private let text: [Unicode.Scalar]
    private var index = 0
    /// The level of the table or array that holds the value being parsed.
    private var depth = 0
    private let root = TOMLTableNode(kind: .explicit, level: 0)

    init(text: String) {
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        self.text = scalars
    }

    mutating func parseDocument() throws(TOMLError) -> JSONObject {
        var table = root
        while true {
            skipWhitespace()
            guard let c = peek() else { break }
            if c == "[" {
                table = try parseHeader()
                try finishLine(after: "the table header")
            } else if c == "#" || c == "\n" || c == "\r" {
                try finishLine(after: "the comment")
            } else {
                try parseKeyValue(into: table)
                try finishLine(after: "the value")
            }
        }
        return root.json()
    }

    // MARK: Errors

    /// An error at `offset` (the index by default), with its line and column worked out from the text.
    private func fail(_ message: String, at offset: Int? = nil) -> TOMLError {
        let end = max(0, min(offset ?? index, text.count))
        let before = text[..<end]
        let lineStart = before.lastIndex(of: "\n").map { $0 + 1 } ?? 0
        let line = 1 + before.filter { $0 == "\n" }.count
        return TOMLError(line: line, column: end - lineStart + 1, message: message)
    }

    private func controlError(_ c: Unicode.Scalar, at offset: Int? = nil) -> TOMLError {
        fail("control character U+\(Self.hex(c.value)) is not allowed", at: offset)
    }

    /// An error for the scalar at the index: its own message for a control character, `expectation` otherwise.
    private func unexpected(_ expectation: String) -> TOMLError {
        if let c = peek(), Self.isControl(c), c != "\n", c != "\r" { return controlError(c) }
        return fail(expectation)
    }

    /// Throws for a control character other than tab; callers deal with line endings first.
    private func checkNotControl(_ c: Unicode.Scalar) throws(TOMLError) {
        if Self.isControl(c) { throw controlError(c) }
    }

    // MARK: Scanning

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        let i = index + offset
        return i < text.count ? text[i] : nil
    }

    private mutating func consume(_ c: Unicode.Scalar) -> Bool {
        guard peek() == c else { return false }
        index += 1
        return true
    }

    private mutating func skipWhitespace() {
        while let c = peek(), c == " " || c == "\t" { index += 1 }
    }

    /// Consumes a line ending (LF or CRLF); false when there is none at the index. A bare CR is an error.
    private mutating func consumeNewline() throws(TOMLError) -> Bool {
        if consume("\n") { return true }
        guard peek() == "\r" else { return false }
        guard peek(1) == "\n" else { throw fail("a carriage return must be followed by a line feed") }
        index += 2
        return true
    }

    /// Skips a comment, if there is one at the index, up to (not including) its line ending.
    private mutating func skipComment() throws(TOMLError) {
        guard consume("#") else { return }
        while let c = peek(), c != "\n", c != "\r" {
            try checkNotControl(c)
            index += 1
        }
    }

    /// Requires the rest of the line to be blank or a comment, and consumes its line ending.
    private mutating func finishLine(after what: String) throws(TOMLError) {
        skipWhitespace()
        try skipComment()
        guard peek() != nil else { return }
        guard try consumeNewline() else { throw unexpected("expected the end of the line after \(what)") }
    }

    /// Skips whitespace, comments and line endings (between the elements of an array).
    private mutating func skipBlankSpace() throws(TOMLError) {
        while true {
            skipWhitespace()
            try skipComment()
            guard try consumeNewline() else { return }
        }
    }

    // MARK: Keys and tables

    /// A key: simple keys joined by dots, with optional whitespace around each dot.
    private mutating func parseKey() throws(TOMLError) -> [String] {
        var parts: [String] = []
        repeat {
            skipWhitespace()
            parts.append(try parseSimpleKey())
            skipWhitespace()
        } while consume(".")
        return parts
    }

    private mutating func parseSimpleKey() throws(TOMLError) -> String {
        if let quote = peek(), quote == "\"" || quote == "'" { return try parseString(quote: quote) }
        let start = index
        while let c = peek(), Self.isBareKeyScalar(c) { index += 1 }
        guard index > start else { throw unexpected("expected a key") }
        return Self.string(text[start..<index])
    }

    /// `key = value`, added to `table` (the current table, or an inline table being read).
    private mutating func parseKeyValue(into table: TOMLTableNode) throws(TOMLError) {
        let keyStart = index
        let key = try parseKey()
        guard consume("=") else { throw unexpected("expected = after the key") }
        skipWhitespace()
        let target = try dottedKeyTarget(key, in: table, at: keyStart)
        guard let last = key.last else { throw fail("expected a key", at: keyStart) }
        if target[last] != nil {
            throw fail("key \"\(key.joined(separator: "."))\" is defined twice", at: keyStart)
        }
        let outer = depth
        depth = target.level
        let value = try parseValue()
        depth = outer
        target.add(last, .value(value))
    }

    /// The table that receives the last part of a dotted key, creating the tables before it.
    private func dottedKeyTarget(_ key: [String], in table: TOMLTableNode, at keyStart: Int) throws(TOMLError)
        -> TOMLTableNode
    {
        var target = table
        for (n, part) in key.dropLast().enumerated() {
            guard let existing = target[part] else {
                let child = try makeTable(.dotted, level: target.level + 1, at: keyStart)
                target.add(part, .table(child))
                target = child
                continue
            }
            let name = key[...n].joined(separator: ".")
            switch existing {
            case .table(let child) where child.kind == .dotted: target = child
            case .table: throw fail("table [\(name)] cannot be extended with dotted keys", at: keyStart)
            case .tableArray: throw fail("[[\(name)]] cannot be extended with dotted keys", at: keyStart)
            case .value(let value): throw valueConflict(value, name: name, at: keyStart)
            }
        }
        return target
    }

    /// `[a.b]` or `[[a.b]]`; returns the table that the key/value pairs after it go into.
    private mutating func parseHeader() throws(TOMLError) -> TOMLTableNode {
        let start = index
        index += 1
        let isArray = consume("[")
        let key = try parseKey()
        guard consume("]") else { throw unexpected("expected ] after the table name") }
        if isArray, !consume("]") { throw unexpected("expected ]] after the table name") }
        var parent = root
        for (n, part) in key.dropLast().enumerated() {
            parent = try descend(into: parent, part, name: key[...n].joined(separator: "."), at: start)
        }
        guard let last = key.last else { throw fail("expected a key", at: start) }
        let name = key.joined(separator: ".")
        if isArray { return try appendTable(last, to: parent, name: name, at: start) }
        return try defineTable(last, in: parent, name: name, at: start)
    }

    /// A new table of `kind` at `part` of `parent` (one level deeper).
    private func addTable(_ kind: TOMLTableKind, _ part: String, to parent: TOMLTableNode, at start: Int)
        throws(TOMLError) -> TOMLTableNode
    {
        let table = try makeTable(kind, level: parent.level + 1, at: start)
        parent.add(part, .table(table))
        return table
    }

    /// The table at `part` on a header's path, created if missing; for an array of tables, its last table.
    private func descend(into parent: TOMLTableNode, _ part: String, name: String, at start: Int) throws(TOMLError)
        -> TOMLTableNode
    {
        guard let existing = parent[part] else { return try addTable(.implicit, part, to: parent, at: start) }
        switch existing {
        case .table(let child): return child
        case .tableArray(let array):
            guard let lastTable = array.tables.last else { throw fail("[[\(name)]] is empty", at: start) }
            return lastTable
        case .value(let value): throw valueConflict(value, name: name, at: start)
        }
    }

    /// The table a `[name]` header defines.
    private func defineTable(_ part: String, in parent: TOMLTableNode, name: String, at start: Int) throws(TOMLError)
        -> TOMLTableNode
    {
        guard let existing = parent[part] else { return try addTable(.explicit, part, to: parent, at: start) }
        switch existing {
        case .table(let table):
            switch table.kind {
            case .implicit:
                table.kind = .explicit
                return table
            case .explicit: throw fail("table [\(name)] is defined twice", at: start)
            case .dotted: throw fail("table [\(name)] is already defined by dotted keys", at: start)
            }
        case .tableArray: throw fail("table [\(name)] is already an array of tables", at: start)
        case .value(let value): throw valueConflict(value, name: name, at: start)
        }
    }

    /// The new table a `[[name]]` header appends to its array of tables.
    private func appendTable(_ part: String, to parent: TOMLTableNode, name: String, at start: Int) throws(TOMLError)
        -> TOMLTableNode
    {
        let table = try makeTable(.explicit, level: parent.level + 2, at: start)
        guard let existing = parent[part] else {
            parent.add(part, .tableArray(TOMLTableArray(first: table)))
            return table
        }
        switch existing {
        case .tableArray(let array):
            array.tables.append(table)
            return table
        case .table: throw fail("table [\(name)] is not an array of tables", at: start)
        case .value(.array(_)): throw fail("cannot append to the static array \"\(name)\"", at: start)
        case .value(let value): throw valueConflict(value, name: name, at: start)
        }
    }

    /// The error for using a key that holds a value as a table.
    private func valueConflict(_ value: JSONValue, name: String, at offset: Int) -> TOMLError {
        if case .object = value { return fail("inline table \"\(name)\" cannot be extended", at: offset) }
        return fail("key \"\(name)\" is already defined as a value", at: offset)
    }

    private func makeTable(_ kind: TOMLTableKind, level: Int, at offset: Int) throws(TOMLError) -> TOMLTableNode {
        guard level <= Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth)", at: offset) }
        return TOMLTableNode(kind: kind, level: level)
    }

    // MARK: Values

    private mutating func parseValue() throws(TOMLError) -> JSONValue {
        guard let c = peek() else { throw fail("expected a value") }
        switch c {
        case "\"", "'":
            if peek(1) == c, peek(2) == c { return try .string(parseMultilineString(quote: c)) }
            return try .string(parseString(quote: c))
        case "[": return try parseArray()
        case "{": return try parseInlineTable()
        case "0"..."9", "A"..."Z", "a"..."z", "+", "-": return try parseBareValue()
        default: throw unexpected("expected a value")
        }
    }

    private mutating func parseArray() throws(TOMLError) -> JSONValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth)") }
        index += 1
        var items: [JSONValue] = []
        while true {
            try skipBlankSpace()
            if consume("]") { return .array(items) }
            items.append(try parseValue())
            try skipBlankSpace()
            if consume("]") { return .array(items) }
            guard consume(",") else { throw unexpected("expected , or ] after the array element") }
        }
    }

    /// `{ key = value, … }` on one line, without a trailing comma; it cannot be extended afterwards.
    private mutating func parseInlineTable() throws(TOMLError) -> JSONValue {
        let table = try makeTable(.explicit, level: depth + 1, at: index)
        index += 1
        skipWhitespace()
        if consume("}") { return .object(table.json()) }
        while true {
            skipWhitespace()
            if peek() == "}" { throw fail("a trailing comma is not allowed in an inline table") }
            if peek() == "\n" || peek() == "\r" { throw fail("an inline table must be on one line") }
            try parseKeyValue(into: table)
            skipWhitespace()
            if consume("}") { return .object(table.json()) }
            if peek() == "\n" || peek() == "\r" { throw fail("an inline table must be on one line") }
            guard consume(",") else { throw unexpected("expected , or } after the value in the inline table") }
        }
    }

    // MARK: Strings

    /// `"…"` (a basic string, with escapes) or `'…'` (a literal string, without), on one line.
    private mutating func parseString(quote: Unicode.Scalar) throws(TOMLError) -> String {
        let start = index
        index += 1
        var out = ""
        while true {
            guard let c = peek(), c != "\n", c != "\r" else { throw fail("unterminated string", at: start) }
            if c == quote {
                index += 1
                return out
            }
            if c == "\\" && quote == "\"" {
                try parseEscape(into: &out)
            } else {
                try checkNotControl(c)
                out.unicodeScalars.append(c)
                index += 1
            }
        }
    }

    /// `"""…"""` (with escapes and line-ending backslashes) or `'''…'''` (without). A line ending right after
    /// the opening delimiter is dropped; line endings inside are read as "\n".
    private mutating func parseMultilineString(quote: Unicode.Scalar) throws(TOMLError) -> String {
        let start = index
        let hasEscapes = quote == "\""
        index += 3
        _ = try consumeNewline()
        var out = ""
        while true {
            guard let c = peek() else { throw fail("unterminated string", at: start) }
            if c == quote {
                if closeMultilineString(quote: quote, into: &out) { return out }
            } else if c == "\\" && hasEscapes {
                if isLineEndingBackslash() { try skipEscapedLineEnding() } else { try parseEscape(into: &out) }
            } else if c == "\n" || c == "\r" {
                _ = try consumeNewline()
                out.unicodeScalars.append("\n")
            } else {
                try checkNotControl(c)
                out.unicodeScalars.append(c)
                index += 1
            }
        }
    }

    /// At a run of quotes in a multi-line string: appends the quotes that are text, and tells whether the run closes
    /// the string (three quotes close it; up to two more just before them are text).
    private mutating func closeMultilineString(quote: Unicode.Scalar, into out: inout String) -> Bool {
        var run = 0
        while peek(run) == quote { run += 1 }
        let closes = run >= 3
        let consumed = closes ? min(run, 5) : run
        for _ in 0..<(closes ? consumed - 3 : consumed) { out.unicodeScalars.append(quote) }
        index += consumed
        return closes
    }

    /// Whether the backslash at the index ends its line (only spaces or tabs between it and the line ending).
    private func isLineEndingBackslash() -> Bool {
        var offset = 1
        while let c = peek(offset), c == " " || c == "\t" { offset += 1 }
        return peek(offset) == "\n" || peek(offset) == "\r"
    }

    /// Skips a line-ending backslash and all the whitespace and line endings after it.
    private mutating func skipEscapedLineEnding() throws(TOMLError) {
        index += 1
        while let c = peek() {
            if c == " " || c == "\t" {
                index += 1
            } else if c == "\n" || c == "\r" {
                _ = try consumeNewline()
            } else {
                return
            }
        }
    }

    /// An escape sequence at the index (the backslash), appended to `out` as the scalar it stands for.
    private mutating func parseEscape(into out: inout String) throws(TOMLError) {
        let start = index
        index += 1
        guard let c = peek(), c != "\n", c != "\r" else { throw fail("unterminated string", at: start) }
        index += 1
        let scalar: Unicode.Scalar
        switch c {
        case "b": scalar = "\u{08}"
        case "t": scalar = "\t"
        case "n": scalar = "\n"
        case "f": scalar = "\u{0C}"
        case "r": scalar = "\r"
        case "\"": scalar = "\""
        case "\\": scalar = "\\"
        case "u": scalar = try parseCodePoint(hexDigits: 4, escapeStart: start)
        case "U": scalar = try parseCodePoint(hexDigits: 8, escapeStart: start)
        default:
            if Self.isControl(c) { throw controlError(c, at: index - 1) }
            throw fail("invalid escape \\\(Self.string([c]))", at: start)
        }
        out.unicodeScalars.append(scalar)
    }

    private mutating func parseCodePoint(hexDigits count: Int, escapeStart: Int) throws(TOMLError) -> Unicode.Scalar {
        var value: UInt32 = 0
        for _ in 0..<count {
            guard let c = peek(), let digit = Self.digitValue(c, radix: 16) else {
                let letter = count == 4 ? "u" : "U"
                throw fail("invalid escape: \\\(letter) needs \(count) hex digits", at: escapeStart)
            }
            value = value << 4 | digit
            index += 1
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw fail("invalid escape: U+\(Self.hex(value)) is not a Unicode scalar value", at: escapeStart)
        }
        return scalar
    }

    // MARK: Numbers, booleans, dates and times

    /// A value written without quotes or brackets: a boolean, a number, a date or a time.
    private mutating func parseBareValue() throws(TOMLError) -> JSONValue {
        let start = index
        skipTokenScalars()
        var token = Array(text[start..<index])
        // A date, a space and a time make one date-time ("1979-05-27 07:32:00").
        if token.count == 10, Self.looksLikeDate(token), peek() == " ", Self.isDigit(peek(1)), Self.isDigit(peek(2)),
            peek(3) == ":"
        {
            index += 1
            skipTokenScalars()
            token = Array(text[start..<index])
        }
        let word = Self.string(token)
        if word == "true" { return .bool(true) }
        if word == "false" { return .bool(false) }
        if Self.looksLikeDate(token) || Self.looksLikeTime(token) {
            try validateDateTime(token, at: start)
            return .string(word)
        }
        return try parseNumber(token, at: start)
    }

    private mutating func skipTokenScalars() {
        while let c = peek(), Self.isTokenScalar(c) { index += 1 }
    }

    private func parseNumber(_ token: [Unicode.Scalar], at start: Int) throws(TOMLError) -> JSONValue {
        // No setting needs more; a megabyte of digits would only make the float conversion slow.
        guard token.count <= 1000 else { throw fail("a number of more than 1000 characters", at: start) }
        let negative = token.first == "-"
        var i = negative || token.first == "+" ? 1 : 0
        let unsigned = Self.string(token[i...])
        if unsigned == "inf" || unsigned == "nan" { throw fail("\(unsigned) is not allowed here", at: start) }
        guard Self.isDigit(Self.scalar(token, i)) else {
            throw fail(i == 0 ? "expected a value" : "invalid number", at: start)
        }
        if token[i] == "0", let prefix = Self.scalar(token, i + 1), let radix = Self.radix(prefix) {
            guard i == 0 else { throw fail("a sign is not allowed before 0\(Self.string([prefix]))", at: start) }
            i += 2
            let digits = try digitRun(token, &i, radix: radix, at: start)
            guard !digits.isEmpty else { throw fail("expected digits after 0\(Self.string([prefix]))", at: start + i) }
            guard i == token.count else { throw fail("invalid number", at: start + i) }
            return .int(try integer(digits, radix: radix, negative: false, at: start))
        }
        return try parseDecimal(token, from: i, negative: negative, at: start)
    }

    /// A decimal integer or a float, its sign already read; `first` is the index of its first digit.
    private func parseDecimal(_ token: [Unicode.Scalar], from first: Int, negative: Bool, at start: Int)
        throws(TOMLError) -> JSONValue
    {
        var i = first
        let whole = try digitRun(token, &i, radix: 10, at: start)
        if whole.count > 1, whole.first == 0 { throw fail("leading zeros are not allowed", at: start + first) }
        var literal = (negative ? "-" : "") + Self.decimalText(whole)
        var isFloat = false
        if Self.scalar(token, i) == "." {
            i += 1
            let fraction = try digitRun(token, &i, radix: 10, at: start)
            guard !fraction.isEmpty else { throw fail("expected digits after the decimal point", at: start + i) }
            literal += "." + Self.decimalText(fraction)
            isFloat = true
        }
        if let e = Self.scalar(token, i), e == "e" || e == "E" {
            i += 1
            literal += "e"
            if let sign = Self.scalar(token, i), sign == "+" || sign == "-" {
                literal += sign == "-" ? "-" : "+"
                i += 1
            }
            let exponent = try digitRun(token, &i, radix: 10, at: start)
            guard !exponent.isEmpty else { throw fail("expected digits in the exponent", at: start + i) }
            literal += Self.decimalText(exponent)
            isFloat = true
        }
        guard i == token.count else { throw fail("invalid number", at: start + i) }
        guard isFloat else { return .int(try integer(whole, radix: 10, negative: negative, at: start)) }
        guard let value = Double(literal), value.isFinite else { throw fail("float is out of range", at: start) }
        return .double(value)
    }

    /// Reads digits of `radix` from `i`, with single underscores allowed between them; returns the digits' values.
    private func digitRun(_ token: [Unicode.Scalar], _ i: inout Int, radix: UInt32, at start: Int) throws(TOMLError)
        -> [UInt32]
    {
        var digits: [UInt32] = []
        while let c = Self.scalar(token, i) {
            if c == "_" {
                guard !digits.isEmpty, let next = Self.scalar(token, i + 1), Self.digitValue(next, radix: radix) != nil
                else { throw fail("an underscore must be between digits", at: start + i) }
                i += 1
            } else if let digit = Self.digitValue(c, radix: radix) {
                digits.append(digit)
                i += 1
            } else {
                break
            }
        }
        return digits
    }

    /// The value of `digits` in `radix`, or an error when it does not fit in a 64-bit integer.
    private func integer(_ digits: [UInt32], radix: UInt32, negative: Bool, at start: Int) throws(TOMLError) -> Int {
        var value = 0
        for digit in digits {
            let (shifted, multiplyOverflow) = value.multipliedReportingOverflow(by: Int(radix))
            let (next, addOverflow) =
                negative
                ? shifted.subtractingReportingOverflow(Int(digit)) : shifted.addingReportingOverflow(Int(digit))
            guard !multiplyOverflow, !addOverflow else { throw fail("integer is out of range", at: start) }
            value = next
        }
        return value
    }

    /// Checks an offset date-time, local date-time, local date or local time (RFC 3339, seconds required).
    private func validateDateTime(_ s: [Unicode.Scalar], at start: Int) throws(TOMLError) {
        var i = 0
        let hasDate = Self.looksLikeDate(s)
        if hasDate {
            let year = try fixedDigits(s, &i, count: 4, at: start)
            try expect("-", in: s, &i, at: start)
            let month = try fixedDigits(s, &i, count: 2, at: start)
            try expect("-", in: s, &i, at: start)
            let day = try fixedDigits(s, &i, count: 2, at: start)
            guard month >= 1, month <= 12 else { throw fail("invalid month \(month)", at: start + 5) }
            guard day >= 1, day <= Self.daysIn(month: month, year: year) else {
                throw fail("invalid day \(day) for month \(month)", at: start + 8)
            }
            guard let separator = Self.scalar(s, i) else { return }
            guard separator == "T" || separator == "t" || separator == " " else {
                throw fail("invalid date or time", at: start + i)
            }
            i += 1
        }
        try validateTime(s, &i, at: start)
        if hasDate { try validateOffset(s, &i, at: start) }
        guard i == s.count else { throw fail("invalid date or time", at: start + i) }
    }

    /// `HH:MM:SS` with optional fractional seconds.
    private func validateTime(_ s: [Unicode.Scalar], _ i: inout Int, at start: Int) throws(TOMLError) {
        let timeStart = start + i
        let hour = try fixedDigits(s, &i, count: 2, at: start)
        try expect(":", in: s, &i, at: start)
        let minute = try fixedDigits(s, &i, count: 2, at: start)
        try expect(":", in: s, &i, at: start)
        let second = try fixedDigits(s, &i, count: 2, at: start)
        guard hour <= 23 else { throw fail("invalid hour \(hour)", at: timeStart) }
        guard minute <= 59 else { throw fail("invalid minute \(minute)", at: timeStart + 3) }
        guard second <= 60 else { throw fail("invalid second \(second)", at: timeStart + 6) }
        guard Self.scalar(s, i) == "." else { return }
        i += 1
        let fractionStart = i
        while Self.isDigit(Self.scalar(s, i)) { i += 1 }
        guard i > fractionStart else { throw fail("expected digits after the decimal point", at: start + i) }
    }

    /// `Z`, `z` or `±HH:MM`, when there is one.
    private func validateOffset(_ s: [Unicode.Scalar], _ i: inout Int, at start: Int) throws(TOMLError) {
        guard let c = Self.scalar(s, i) else { return }
        if c == "Z" || c == "z" {
            i += 1
        } else if c == "+" || c == "-" {
            let offsetStart = start + i
            i += 1
            let hours = try fixedDigits(s, &i, count: 2, at: start)
            try expect(":", in: s, &i, at: start)
            let minutes = try fixedDigits(s, &i, count: 2, at: start)
            guard hours <= 23, minutes <= 59 else { throw fail("invalid time offset", at: offsetStart) }
        }
    }

    private func fixedDigits(_ s: [Unicode.Scalar], _ i: inout Int, count: Int, at start: Int) throws(TOMLError)
        -> Int
    {
        var value = 0
        for _ in 0..<count {
            guard let c = Self.scalar(s, i), let digit = Self.digitValue(c, radix: 10) else {
                throw fail("invalid date or time", at: start + i)
            }
            value = value * 10 + Int(digit)
            i += 1
        }
        return value
    }

    private func expect(_ c: Unicode.Scalar, in s: [Unicode.Scalar], _ i: inout Int, at start: Int) throws(TOMLError) {
        guard Self.scalar(s, i) == c else { throw fail("invalid date or time", at: start + i) }
        i += 1
    }

    // MARK: Scalar classes

    private static func scalar(_ s: [Unicode.Scalar], _ i: Int) -> Unicode.Scalar? {
        i >= 0 && i < s.count ? s[i] : nil
    }

    private static func string<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
        var out = ""
        out.unicodeScalars.append(contentsOf: scalars)
        return out
    }

    /// Four hex digits at least, upper case: "0001", "D800", "110000".
    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// U+0000–U+0008, U+000A–U+001F and U+007F: allowed nowhere, except line feeds (and CRLF) as line endings.
    private static func isControl(_ c: Unicode.Scalar) -> Bool {
        (c.value < 0x20 && c != "\t") || c.value == 0x7F
    }

    private static func isDigit(_ c: Unicode.Scalar?) -> Bool {
        guard let c else { return false }
        return c >= "0" && c <= "9"
    }

    private static func isBareKeyScalar(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "A"..."Z", "a"..."z", "0"..."9", "_", "-": true
        default: false
        }
    }

    /// The scalars a number, boolean, date or time is made of.
    private static func isTokenScalar(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "A"..."Z", "a"..."z", "0"..."9", "_", "+", "-", ".", ":": true
        default: false
        }
    }

    private static func digitValue(_ c: Unicode.Scalar, radix: UInt32) -> UInt32? {
        let digit: UInt32
        switch c {
        case "0"..."9": digit = c.value - 48
        case "a"..."f": digit = c.value - 87
        case "A"..."F": digit = c.value - 55
        default: return nil
        }
        return digit < radix ? digit : nil
    }

    private static func radix(_ prefix: Unicode.Scalar) -> UInt32? {
        switch prefix {
        case "x": 16
        case "o": 8
        case "b": 2
        default: nil
        }
    }

    private static func decimalText(_ digits: [UInt32]) -> String { digits.map { String($0) }.joined() }

    /// `YYYY-`: the start of a date.
    private static func looksLikeDate(_ s: [Unicode.Scalar]) -> Bool {
        s.count >= 5 && s[0..<4].allSatisfy { isDigit($0) } && s[4] == "-"
    }

    /// `HH:`: the start of a time.
    private static func looksLikeTime(_ s: [Unicode.Scalar]) -> Bool {
        s.count >= 3 && isDigit(s[0]) && isDigit(s[1]) && s[2] == ":"
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
