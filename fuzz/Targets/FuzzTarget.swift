/// The fuzz targets: each takes arbitrary bytes, runs one parser of untrusted input over them and checks what must
/// hold for every input (a crash, a trap or a failed `FuzzCheck` is a finding). libFuzzer drives them through
/// `knoxcall-fuzz` (scripts/fuzz.sh); `KnoxFuzzTargetsTests` replays the committed corpus and every past finding
/// through the same code in the ordinary test run.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// The data plane's request decoder: HTTP/1 heads and body framing (Content-Length, chunked, trailers).
    case httpRequest = "http-request"
    /// The upstream answer decoder: status line, head, framing, interim answers, pipelined answers.
    case httpResponse = "http-response"
    /// The JSON parser behind every management request body.
    case json
    /// `{{secret:NAME}}` / `{{secret_id:UUID}}` templates.
    case template
    /// Client addresses and CIDR ranges.
    case cidr
    /// The caller's request path rules (dot segments and encodings).
    case path
    /// `X-Timestamp` / `X-Signature` request signatures, and DPoP proofs and JWTs (the other signed headers).
    case signature
    /// `config.toml`.
    case config
    /// Console theme files.
    case theme

    /// Runs the target over one input.
    public func run(_ bytes: UnsafeRawBufferPointer) {
        let input = Array(bytes)
        switch self {
        case .httpRequest: HTTPFuzz.request(input)
        case .httpResponse: HTTPFuzz.response(input)
        case .json: TextFuzz.json(input)
        case .template: TextFuzz.template(input)
        case .cidr: TextFuzz.cidr(input)
        case .path: TextFuzz.path(input)
        case .signature: SignatureFuzz.run(input)
        case .config: ConfigFuzz.config(input)
        case .theme: ConfigFuzz.theme(input)
        }
    }

    public func run(_ input: [UInt8]) { input.withUnsafeBytes { run($0) } }
}

/// A property every input must keep; a broken one stops the run with what broke (never the input itself, which the
/// fuzzer saves to a file).
func FuzzCheck(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #file,
    line: UInt = #line
) {
    if !condition() { fatalError("fuzz property broken: \(message())", file: file, line: line) }
}

/// A small deterministic generator seeded from the input, so a replay of a saved input takes the same path.
struct InputRandom {
    private var state: UInt64

    init(_ input: [UInt8]) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in input { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        state = h | 1
    }

    mutating func next(_ upper: Int) -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Int(state % UInt64(upper))
    }
}
