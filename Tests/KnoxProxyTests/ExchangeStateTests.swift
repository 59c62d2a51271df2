import Testing

@testable import KnoxProxy

/// The exchange's state machine on its own, without sockets (issue 22, point 3): each path a request can take through
/// the data plane as the events `Exchange` feeds it, and, over many random event orders, the rules every path keeps.
@Suite struct ExchangeStateTests {
    typealias Event = ExchangeState.Event
    typealias Action = ExchangeState.Action

    /// Feeds the events in order and returns the actions answered.
    static func run(_ events: [Event], from start: ExchangeState = ExchangeState()) -> ([Action], ExchangeState) {
        var state = start
        var actions: [Action] = []
        for event in events { actions.append(state.handle(event)) }
        return (actions, state)
    }

    // MARK: - The usual paths

    @Test func aStreamedRequestGoesUpstreamAtOnceAndItsClockStartsWhenTheUpstreamHasItAll() {
        // GET: the head is admitted, the connection is ready before the (empty) body ends.
        let (actions, state) = Self.run([
            .admitted(hold: false), .upstreamReady, .end, .upstreamHead, .upstreamPart, .upstreamEnd,
        ])
        #expect(
            actions == [
                .startUpstream, .sendRequest(startClock: false), .endUpstreamBody(startClock: true), .forwardHead,
                .forwardPart, .endAnswer(reuse: true),
            ])
        #expect(state.finished && state.responseStarted && !state.awaitingAnswer)
    }

    @Test func aBodyThatEndsBeforeTheConnectionStartsTheClockWhenTheRequestIsSent() {
        let (actions, _) = Self.run([
            .admitted(hold: false), .bodyPart(overflow: false, mustHold: false), .end, .upstreamReady,
        ])
        #expect(
            actions == [.startUpstream, .forward, .endUpstreamBody(startClock: false), .sendRequest(startClock: true)])
    }

    @Test func aHeldBodyIsKeptWholeThenCompleted() {
        let (actions, state) = Self.run([
            .admitted(hold: true), .bodyPart(overflow: false, mustHold: true),
            .bodyPart(overflow: false, mustHold: true),
            .end, .upstreamReady, .upstreamHead, .upstreamEnd,
        ])
        #expect(
            actions == [
                .nothing, .hold, .hold, .completeHeld, .sendRequest(startClock: true), .forwardHead,
                .endAnswer(reuse: true),
            ])
        #expect(state.body == .buffer && state.finished)
    }

    @Test func aHeldBodyPastTheBoundIsStreamedWhenTheRouteCanDoWithoutIt() {
        let (actions, state) = Self.run([
            .admitted(hold: true), .bodyPart(overflow: false, mustHold: false),
            .bodyPart(overflow: true, mustHold: false),
            .bodyPart(overflow: false, mustHold: false), .end,
        ])
        #expect(actions == [.nothing, .hold, .streamFromNow, .forward, .endUpstreamBody(startClock: false)])
        #expect(state.body == .stream)
    }

    @Test func aHeldBodyPastTheBoundIsRefusedAtItsEndWhenTheRouteNeedsItWhole() {
        let (actions, state) = Self.run([
            .admitted(hold: true), .bodyPart(overflow: true, mustHold: true), .bodyPart(overflow: true, mustHold: true),
            .end, .upstreamReady,
        ])
        #expect(actions == [.nothing, .refuseTooLarge, .nothing, .refuse(keepAlive: true), .releaseConnection])
        #expect(state.finished && state.body == .discard)
    }

    @Test func anUpstreamThatAnswersBeforeTheBodyEndsEndsTheExchangeWithoutReuse() {
        let (actions, state) = Self.run([
            .admitted(hold: false), .upstreamReady, .bodyPart(overflow: false, mustHold: false), .upstreamHead,
            .upstreamEnd, .bodyPart(overflow: false, mustHold: false), .end,
        ])
        #expect(
            actions == [
                .startUpstream, .sendRequest(startClock: false), .forward, .forwardHead, .endAnswer(reuse: false),
                .nothing, .nothing,
            ])
        #expect(state.finished && !state.requestEnded)
    }

    // MARK: - Refusals

    @Test func aRefusalDecidedBeforeTheBodyEndsWaitsForIt() {
        let (actions, state) = Self.run([
            .refused, .bodyPart(overflow: false, mustHold: false), .bodyPart(overflow: true, mustHold: true), .end,
        ])
        #expect(actions == [.nothing, .nothing, .nothing, .refuse(keepAlive: true)])
        #expect(state.finished && state.responseStarted)
    }

    @Test func aRefusalDecidedOnAWholeBodyGoesOutAtOnce() {
        let (actions, _) = Self.run([.admitted(hold: true), .bodyPart(overflow: false, mustHold: true), .end, .refused])
        #expect(actions == [.nothing, .hold, .completeHeld, .refuse(keepAlive: true)])
    }

    @Test func aMalformedRestOfTheRequestIsRefusedAndTheConnectionEnds() {
        let (actions, state) = Self.run([.admitted(hold: false), .upstreamReady, .malformedRequest, .upstreamHead])
        #expect(actions == [.startUpstream, .sendRequest(startClock: false), .refuse(keepAlive: false), .nothing])
        #expect(state.finished)
        // Once part of an answer is out, a malformed rest cannot be answered: the connection is cut by the caller.
        let (late, _) = Self.run([.admitted(hold: false), .upstreamReady, .upstreamHead, .malformedRequest])
        #expect(late.last == .nothing)
    }

    @Test func aStalledBodyIsRefusedWithoutKeepAliveOrCutMidAnswer() {
        let (before, _) = Self.run([.admitted(hold: true), .bodyPart(overflow: false, mustHold: false), .stalled])
        #expect(before.last == .refuse(keepAlive: false))
        // A refusal that was waiting for the body's end goes out then, on the same terms.
        let (waiting, _) = Self.run([.refused, .stalled])
        #expect(waiting == [.nothing, .refuse(keepAlive: false)])
        let (midAnswer, state) = Self.run([.admitted(hold: false), .upstreamReady, .upstreamHead, .stalled])
        #expect(midAnswer.last == .abort)
        #expect(state.finished)
    }

    // MARK: - Upstream failures

    @Test func aStalePooledConnectionIsRetriedOnceWithTheClockRestarted() {
        let (actions, state) = Self.run([
            .admitted(hold: false), .upstreamReady, .end, .upstreamClosed(retriable: true), .upstreamReady,
            .upstreamClosed(retriable: true),
        ])
        #expect(
            actions == [
                .startUpstream, .sendRequest(startClock: false), .endUpstreamBody(startClock: true), .retry,
                .sendRequest(startClock: true), .refuse(keepAlive: true),
            ])
        #expect(state.retried && state.finished)
    }

    @Test func aRetryBeforeTheBodyEndsSendsAgainWithoutAClockUntilTheEnd() {
        let (actions, _) = Self.run([
            .admitted(hold: false), .upstreamReady, .upstreamClosed(retriable: true), .end, .upstreamReady,
        ])
        #expect(
            actions == [
                .startUpstream, .sendRequest(startClock: false), .retry, .endUpstreamBody(startClock: false),
                .sendRequest(startClock: true),
            ])
    }

    @Test func aClosedConnectionThatCannotBeRetriedFails() {
        let (ended, _) = Self.run([.admitted(hold: false), .end, .upstreamReady, .upstreamClosed(retriable: false)])
        #expect(ended.last == .refuse(keepAlive: true))
        // The body is still arriving: the refusal goes out at its end, the rest is read and dropped.
        let (open, state) = Self.run([
            .admitted(hold: false), .upstreamReady, .upstreamClosed(retriable: false),
            .bodyPart(overflow: false, mustHold: false), .upstreamReady, .end,
        ])
        #expect(open.suffix(4) == [.refuseAtEnd, .nothing, .releaseConnection, .refuse(keepAlive: true)])
        #expect(state.finished)
        // Mid-answer, a close is an abort, and no retry.
        let (mid, _) = Self.run([
            .admitted(hold: false), .upstreamReady, .end, .upstreamHead, .upstreamClosed(retriable: true),
        ])
        #expect(mid.last == .abort)
    }

    @Test func theTimeoutCountsOnlyWhileTheAnswerIsAwaited() {
        // Before the upstream has the whole request: no clock, no timeout.
        let (early, _) = Self.run([.admitted(hold: false), .upstreamReady, .timeout])
        #expect(early.last == .nothing)
        let (awaited, state) = Self.run([.admitted(hold: false), .upstreamReady, .end, .timeout])
        #expect(awaited.last == .refuse(keepAlive: true))
        #expect(state.finished && !state.awaitingAnswer)
        // Once the head is in, the route's timeout no longer applies.
        let (answered, _) = Self.run([.admitted(hold: false), .upstreamReady, .end, .upstreamHead, .timeout])
        #expect(answered.last == .nothing)
    }

    @Test func aFailureAfterTheAnswerBeganAbortsAndOneBeforeRefuses() {
        let (before, _) = Self.run([.admitted(hold: false), .end, .failed])
        #expect(before.last == .refuse(keepAlive: true))
        let (pending, _) = Self.run([.admitted(hold: false), .failed, .end])
        #expect(pending.suffix(2) == [.refuseAtEnd, .refuse(keepAlive: true)])
        let (after, _) = Self.run([.admitted(hold: false), .upstreamReady, .upstreamHead, .upstreamPart, .failed])
        #expect(after.last == .abort)
    }

    @Test func aCloseLogsOnceAndEverythingAfterIsIgnored() {
        let (actions, state) = Self.run([
            .admitted(hold: false), .closed, .upstreamReady, .upstreamHead, .end, .closed, .timeout, .refused,
        ])
        #expect(
            actions == [.startUpstream, .log, .releaseConnection, .nothing, .nothing, .nothing, .nothing, .nothing])
        #expect(state.finished)
    }

    // MARK: - Rules over every order

    /// Every event, with both values of each flag.
    static let allEvents: [Event] = [
        .admitted(hold: false), .admitted(hold: true), .refused, .bodyPart(overflow: false, mustHold: false),
        .bodyPart(overflow: true, mustHold: false), .bodyPart(overflow: true, mustHold: true), .end, .upstreamReady,
        .upstreamHead, .upstreamPart, .upstreamEnd, .upstreamClosed(retriable: true), .upstreamClosed(retriable: false),
        .failed, .timeout, .malformedRequest, .stalled, .closed,
    ]

    /// Actions that write the exchange's log row.
    static func writesRow(_ action: Action) -> Bool {
        switch action {
        case .refuse, .abort, .endAnswer, .log: true
        default: false
        }
    }

    /// Actions that send something (or start sending) upstream.
    static func sendsUpstream(_ action: Action) -> Bool {
        switch action {
        case .startUpstream, .forward, .streamFromNow, .completeHeld, .endUpstreamBody, .sendRequest, .retry: true
        default: false
        }
    }

    /// Over 30,000 random orders of up to 14 events (a fixed seed, so a failure replays): one log row at most, never
    /// two answers, nothing sent upstream while a refusal is decided, nothing sent at all after the row, a retry at most once, the answer clock
    /// started at most once per connection and only once the whole request is out.
    @Test func everyOrderOfEventsKeepsTheRules() {
        var random = SeededRandom(seed: 20_261_204)
        for _ in 0..<30_000 {
            let count = Int.random(in: 1...14, using: &random)
            // Most walks begin as the handler begins them: admitted or refused at the head.
            var events: [Event] = [
                Bool.random(using: &random) ? .admitted(hold: Bool.random(using: &random)) : .refused
            ]
            for _ in 0..<count { events.append(Self.allEvents.randomElement(using: &random)!) }
            var state = ExchangeState()
            var rows = 0
            var answers = 0
            var retries = 0
            var clocks = 0
            for event in events {
                let wasFinished = state.finished
                let wasStarted = state.responseStarted
                let action = state.handle(event)
                let context = WalkStep(events: events, event: event, action: action)
                if Self.writesRow(action) { rows += 1 }
                switch action {
                case .refuse:
                    answers += 1
                    checkWalk(!wasStarted, "a refusal after an answer began", context)
                case .forwardHead:
                    answers += 1
                case .retry:
                    retries += 1
                    clocks = 0
                case .sendRequest(let startClock), .endUpstreamBody(let startClock):
                    if startClock {
                        clocks += 1
                        checkWalk(state.requestEnded && state.requestSent, "clock before the request is out", context)
                    }
                default:
                    break
                }
                checkWalk(!state.refusing || !Self.sendsUpstream(action), "sent upstream while refusing", context)
                if wasFinished {
                    checkWalk(
                        action == .nothing || (event == .upstreamReady && action == .releaseConnection),
                        "an action after the row", context)
                }
                checkWalk(rows <= 1, "two log rows", context)
                checkWalk(answers <= 1, "two answers", context)
                checkWalk(retries <= 1, "two retries", context)
                checkWalk(clocks <= 1, "the clock started twice", context)
                checkWalk(state.finished == (rows == 1), "finished without its row, or the reverse", context)
                checkWalk(!state.refusing || state.body == .discard, "a refusal that forwards the body", context)
            }
        }
    }
}

/// Records a broken rule with the walk that broke it (an `#expect` per step would make the walks slow).
func checkWalk(_ holds: Bool, _ rule: String, _ context: WalkStep, sourceLocation: SourceLocation = #_sourceLocation) {
    if !holds { Issue.record("\(rule): \(context)", sourceLocation: sourceLocation) }
}

/// Where a walk broke a rule, described only when it did.
struct WalkStep: CustomStringConvertible {
    let events: [ExchangeState.Event]
    let event: ExchangeState.Event
    let action: ExchangeState.Action
    var description: String { "\(events) at \(event) answered \(action)" }
}

/// splitmix64: a fixed seed gives the same walks on every machine.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
