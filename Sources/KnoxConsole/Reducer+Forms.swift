import Foundation
import KnoxCore

extension Console {
    static func formKey(_ s: inout ConsoleState, _ form: inout FormState, _ key: Key) -> [ConsoleEffect] {
        guard !form.submitting, !form.fields.isEmpty else {
            if key == .escape { s.stack.removeLast() }
            return []
        }
        var field = form.fields[form.focus]
        func store() { form.fields[form.focus] = field }
        func changed() {
            form.dirty = true
            form.errors[field.name] = nil
            store()
        }
        switch key {
        case .escape:
            if form.dirty {
                s.stack[s.stack.count - 1] = .form(form)
                s.stack.append(
                    .confirm(
                        ConfirmState(
                            title: "Discard changes?", message: "Leave this form and lose what you typed? (y/n)",
                            action: nil)))
                return []
            }
            s.stack.removeLast()
            return []
        case .ctrl("s"):
            return submit(&s, &form)
        case .tab:
            if let completed = complete(field, s.formContext) {
                field = completed
                changed()
            } else {
                form.focus = (form.focus + 1) % form.fields.count
            }
        case .down:
            form.focus = (form.focus + 1) % form.fields.count
        case .backTab, .up:
            form.focus = (form.focus + form.fields.count - 1) % form.fields.count
        case .enter:
            if field.kind == .multiline {
                insert("\n", into: &field)
                changed()
            } else if form.focus == form.fields.count - 1 {
                return submit(&s, &form)
            } else {
                form.focus += 1
            }
        case .left, .right, .char(" "):
            if key == .char(" ") && isTyped(field) {
                insert(" ", into: &field)
                changed()
                break
            }
            if field.kind == .toggle {
                field.value = field.value == "true" ? "false" : "true"
                changed()
            } else if case .choice(let options) = field.kind, !options.isEmpty {
                let i = options.firstIndex { $0.value == field.value } ?? 0
                let step = key == .left ? options.count - 1 : 1
                field.value = options[(i + step) % options.count].value
                changed()
            } else if key == .left {
                field.cursor = max(0, field.cursor - 1)
                store()
            } else if key == .right {
                field.cursor = min(field.value.count, field.cursor + 1)
                store()
            }
        case .home:
            field.cursor = 0
            store()
        case .end:
            field.cursor = field.value.count
            store()
        case .backspace:
            guard field.cursor > 0, isTyped(field) else { break }
            let i = field.value.index(field.value.startIndex, offsetBy: field.cursor - 1)
            field.value.remove(at: i)
            field.cursor -= 1
            changed()
        case .delete:
            guard field.cursor < field.value.count, isTyped(field) else { break }
            field.value.remove(at: field.value.index(field.value.startIndex, offsetBy: field.cursor))
            changed()
        case .ctrl("u"):
            guard isTyped(field) else { break }
            field.value = ""
            field.cursor = 0
            changed()
        case .char(let c):
            guard isTyped(field) else { break }
            insert(String(c), into: &field)
            changed()
        default:
            break
        }
        return []
    }

    static func isChoice(_ field: FormField) -> Bool {
        if case .choice = field.kind { true } else { false }
    }

    static func isTyped(_ field: FormField) -> Bool {
        field.kind == .text || field.kind == .masked || field.kind == .multiline
    }

    static func insert(_ text: String, into field: inout FormField) {
        let i = field.value.index(field.value.startIndex, offsetBy: min(field.cursor, field.value.count))
        field.value.insert(contentsOf: text, at: i)
        field.cursor += text.count
    }

    /// Secret names that complete the `{{secret:…` being typed before the cursor, if any.
    public static func completions(_ field: FormField, _ context: FormContext) -> [String] {
        guard field.kind == .multiline || field.kind == .text else { return [] }
        let before = String(field.value.prefix(field.cursor))
        guard let open = before.range(of: "{{secret:", options: .backwards) else { return [] }
        let partial = before[open.upperBound...]
        guard !partial.contains("}") else { return [] }
        let upper = partial.uppercased()
        return context.secrets.map(\.name).filter { $0.hasPrefix(upper) }.sorted()
    }

    /// Completes the `{{secret:…` before the cursor with the first matching name (the typed part is replaced, so
    /// `{{secret:st` becomes `{{secret:STRIPE_KEY}}`).
    static func complete(_ field: FormField, _ context: FormContext) -> FormField? {
        guard let first = completions(field, context).first else { return nil }
        var f = field
        let before = String(f.value.prefix(f.cursor))
        guard let open = before.range(of: "{{secret:", options: .backwards) else { return nil }
        let typed = before[open.upperBound...].count
        let start = f.value.index(f.value.startIndex, offsetBy: f.cursor - typed)
        let end = f.value.index(f.value.startIndex, offsetBy: f.cursor)
        f.value.replaceSubrange(start..<end, with: first + "}}")
        f.cursor += first.count + 2 - typed
        return f
    }

    static func submit(_ s: inout ConsoleState, _ form: inout FormState) -> [ConsoleEffect] {
        let body: JSONObject
        do {
            body = try form.body()
        } catch {
            form.errors = [error.field: error.message]
            form.focus = form.fields.firstIndex { $0.name == error.field } ?? form.focus
            return []
        }
        let mutation: ConsoleEffect.Mutation
        switch form.kind {
        case .route(let id): mutation = id.map { .update(.routes, id: $0, body) } ?? .create(.routes, body)
        case .routeEnvironment(let routeId):
            mutation = .putRouteEnvironment(routeId: routeId, environment: form.value("environment"), body)
        case .secret: mutation = .create(.secrets, body)
        case .secretValue(let id, _): mutation = .setSecretValue(id: id, body)
        case .client(let id): mutation = id.map { .update(.clients, id: $0, body) } ?? .create(.clients, body)
        case .environment(let id):
            mutation = id.map { .update(.environments, id: $0, body) } ?? .create(.environments, body)
        case .apiKey: mutation = .create(.apiKeys, body)
        case .assignClient(let routeId):
            mutation = .assignClient(routeId: routeId, clientId: form.value("client"), body)
        }
        form.submitting = true
        form.errors = [:]
        form.generalError = nil
        return [.mutate(s.mode, mutation)]
    }
}
