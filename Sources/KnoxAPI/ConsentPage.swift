import KnoxCore

/// The small HTML pages of `/oauth/authorize`. Everything interpolated is escaped.
enum ConsentPage {
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func frame(_ title: String, mode: Mode, head: String = "", _ body: String) -> String {
        let banner =
            mode == .test
            ? #"<div style="background:#ffb000;color:#000;padding:6px 12px;font-weight:bold">TEST MODE · sandbox</div>"#
            : #"<div style="background:#c62828;color:#fff;padding:6px 12px;font-weight:bold">LIVE · production</div>"#
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>\(head)
            <style>body{font-family:system-ui,sans-serif;margin:0;color:#222}main{max-width:40rem;margin:2rem auto;padding:0 1rem}
            code{background:#eee;padding:1px 4px}li{margin:2px 0}button{padding:6px 14px;margin-right:8px}</style></head>
            <body>\(banner)<main>\(body)</main></body></html>
            """
    }

    static func waiting(_ r: OAuthAuthorization, clientName: String, mode: Mode) -> String {
        let scopes = r.scope.map { "<li><code>\(escape($0))</code></li>" }.joined()
        let id = escape(r.id)
        return frame(
            "Authorize \(clientName)", mode: mode,
            head: #"<meta http-equiv="refresh" content="2;url=/oauth/authorize?request=\#(id)">"#,
            """
            <h1>Authorization request</h1>
            <p><strong>\(escape(clientName))</strong> asks for a KnoxCall token with these permissions:</p><ul>\(scopes)</ul>
            <p>It will be sent back to <code>\(escape(r.redirectUri))</code>.</p>
            <p>Waiting for an operator: approve it in the KnoxCall console (API keys pane), or here with an API key
            that may manage keys. This page continues by itself once it is decided.</p>
            <form method="post" action="/oauth/authorize">
            <input type="hidden" name="request" value="\(id)">
            <p><label>API key <input type="password" name="api_key" autocomplete="off" size="50"></label></p>
            <button name="decision" value="approve">Approve</button><button name="decision" value="deny">Deny</button>
            </form>
            """)
    }

    static func problem(_ message: String, mode: Mode) -> String {
        frame("Authorization failed", mode: mode, "<h1>Authorization failed</h1><p>\(escape(message))</p>")
    }
}
