/// The state machine of one request through the data plane, with no I/O: `Exchange` tells it what happened (an
/// `Event`) and carries out the `Action` it answers (writes, the log row, the upstream connection). Every rule about
/// what may follow what lives here: a request is answered once and logged once, nothing goes upstream after it is
/// answered, a refusal decided before the body's end waits for it, a stale pooled connection is retried once, the
/// answer clock starts once the upstream has the whole request. `ExchangeStateTests` walks it without sockets.
struct ExchangeState: Sendable, Equatable {
    /// How the request body travels.
    enum BodyMode: Sendable, Equatable {
        /// The route or its placeholders need the whole body (≤ 1 MiB) before anything goes upstream.
        case buffer
        /// The body is forwarded as it arrives.
        case stream
        /// Refused: the rest of the body is read and dropped, then the refusal is sent.
        case discard
    }

    enum Event: Sendable, Equatable {
        /// The head passed the gate; `hold`: the body is held whole before anything goes upstream.
        case admitted(hold: Bool)
        /// A refusal was decided (the gate, the upstream head, the checks on a held body).
        case refused
        /// A part of the request body; `overflow`: held, it would pass the 1 MiB bound; `mustHold`: the route
        /// cannot do without the whole body (a signature, body injection).
        case bodyPart(overflow: Bool, mustHold: Bool)
        /// The request body ended.
        case end
        /// The upstream connection is ready for the request.
        case upstreamReady
        /// The upstream's final answer head, a part of its body, the end of its body.
        case upstreamHead
        case upstreamPart
        case upstreamEnd
        /// The upstream connection closed; `retriable`: it was a pooled one and the request can be sent again.
        case upstreamClosed(retriable: Bool)
        /// The upstream failed the request: not reached, its answer malformed, it stopped reading the body.
        case failed
        /// The answer's deadline passed (the pool's sweep).
        case timeout
        /// The rest of the request is not acceptable HTTP.
        case malformedRequest
        /// The caller stopped sending the body.
        case stalled
        /// The caller's connection went away, or the process's shutdown grace period ended.
        case closed
    }

    enum Action: Sendable, Equatable {
        case nothing
        /// Build the upstream request and connect; the body follows as it arrives.
        case startUpstream
        /// Keep the body part.
        case hold
        /// Send the body part upstream.
        case forward
        /// The held body passes the bound and the route needs it whole: refuse it (413) once the body has ended.
        case refuseTooLarge
        /// The held body passes the bound and the route can do without it: start upstream streaming, send what was
        /// held, then this part.
        case streamFromNow
        /// The held body is whole: run the checks that need it, inject, then start upstream with it.
        case completeHeld
        /// The streamed body ended: send its end upstream, and start the answer clock if `startClock`.
        case endUpstreamBody(startClock: Bool)
        /// Send the head and queued parts on the new connection; start the clock (the request is whole) or let the
        /// caller's body flow.
        case sendRequest(startClock: Bool)
        /// The exchange is over: give the connection back unused.
        case releaseConnection
        /// Pass the upstream's head, a part of its body, its end (the log row is written then; `reuse`: the upstream
        /// connection may serve another request).
        case forwardHead
        case forwardPart
        case endAnswer(reuse: Bool)
        /// Send the request again on a fresh connection.
        case retry
        /// Part of an answer is out: write the log row and cut the caller's connection (the upstream is dropped).
        case abort
        /// Drop the upstream, write the log row and send the refusal (`keepAlive` false: then close).
        case refuse(keepAlive: Bool)
        /// Drop the upstream; the refusal goes out at the body's end (read and drop the rest meanwhile).
        case refuseAtEnd
        /// Drop the upstream and write the log row; nothing can be sent.
        case log
    }

    private(set) var body: BodyMode = .stream
    private(set) var requestEnded = false
    /// The head (and what was queued) went out on an upstream connection.
    private(set) var requestSent = false
    /// Waiting for the upstream's answer, its clock running.
    private(set) var awaitingAnswer = false
    /// Something was written to the caller (an answer head or a refusal).
    private(set) var responseStarted = false
    /// The log row is written: every later event is ignored.
    private(set) var finished = false
    private(set) var retried = false
    /// A refusal is decided.
    private(set) var refusing = false
    /// The head passed the gate (once, before anything else).
    private(set) var admitted = false

    mutating func handle(_ event: Event) -> Action {
        guard !finished else {
            return event == .upstreamReady ? .releaseConnection : .nothing
        }
        switch event {
        case .admitted(let hold):
            guard !admitted, !refusing, !requestEnded else { return .nothing }
            admitted = true
            body = hold ? .buffer : .stream
            return hold ? .nothing : .startUpstream
        case .refused:
            body = .discard
            refusing = true
            return requestEnded ? refuseNow(keepAlive: true) : .nothing
        case .bodyPart(let overflow, let mustHold):
            switch body {
            case .discard: return .nothing
            case .stream: return .forward
            case .buffer:
                guard overflow else { return .hold }
                if mustHold {
                    body = .discard
                    refusing = true
                    return .refuseTooLarge
                }
                body = .stream
                return .streamFromNow
            }
        case .end:
            requestEnded = true
            switch body {
            case .discard: return refusing ? refuseNow(keepAlive: true) : .nothing
            case .buffer: return .completeHeld
            case .stream: return .endUpstreamBody(startClock: requestSent && startClock())
            }
        case .upstreamReady:
            // A refusal decided while connecting (the upstream failed to take the body in time) sends nothing.
            guard !refusing else { return .releaseConnection }
            requestSent = true
            return .sendRequest(startClock: requestEnded && startClock())
        case .upstreamHead:
            // One final head per request, on a connection that has it.
            guard requestSent, !responseStarted, !refusing else { return .nothing }
            awaitingAnswer = false
            responseStarted = true
            return .forwardHead
        case .upstreamPart:
            return responseStarted && !refusing ? .forwardPart : .nothing
        case .upstreamEnd:
            guard responseStarted, !refusing else { return .nothing }
            finished = true
            awaitingAnswer = false
            return .endAnswer(reuse: requestEnded)
        case .upstreamClosed(let retriable):
            if !responseStarted && !refusing && requestSent && retriable && !retried {
                retried = true
                requestSent = false
                awaitingAnswer = false
                return .retry
            }
            return fail()
        case .failed:
            return fail()
        case .timeout:
            return awaitingAnswer && !responseStarted ? fail() : .nothing
        case .malformedRequest:
            guard !responseStarted else { return .nothing }
            body = .discard
            refusing = true
            return refuseNow(keepAlive: false)
        case .stalled:
            if responseStarted { return abort() }
            body = .discard
            refusing = true
            return refuseNow(keepAlive: false)
        case .closed:
            finished = true
            awaitingAnswer = false
            return .log
        }
    }

    /// Starts the answer clock unless it runs already or the answer has begun.
    private mutating func startClock() -> Bool {
        guard !responseStarted, !awaitingAnswer else { return false }
        awaitingAnswer = true
        return true
    }

    private mutating func fail() -> Action {
        if responseStarted { return abort() }
        awaitingAnswer = false
        body = .discard
        refusing = true
        return requestEnded ? refuseNow(keepAlive: true) : .refuseAtEnd
    }

    private mutating func abort() -> Action {
        finished = true
        awaitingAnswer = false
        return .abort
    }

    private mutating func refuseNow(keepAlive: Bool) -> Action {
        guard !responseStarted else { return .nothing }
        responseStarted = true
        finished = true
        awaitingAnswer = false
        return .refuse(keepAlive: keepAlive)
    }
}
