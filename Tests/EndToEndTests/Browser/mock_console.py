#!/usr/bin/env python3
"""A stand-in for the console that implements only the HTML contract console_scenarios.py drives
(ids, forms, cookies, CSRF, Origin, TOTP replay and lockout, CSP, zh-CN/en), so that the harness
itself can be proved before, and apart from, the real console: scripts/browser-selftest.

    mock_console.py --config FILE.json --cert CERT.pem --key KEY.pem

Listens on 127.0.0.1, port 0; prints "console: listening on 127.0.0.1:PORT". Not a console:
no store, no audit trail, one process, in memory.
"""
import argparse
import html
import json
import secrets
import ssl
import sys
import time
import urllib.parse
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyotp

CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
TEXT = {
    "en": {"login": "Log in", "dashboard": "Dashboard", "send": "Send", "bundles": "Bundles", "bundle": "Bundle",
           "audit": "Audit", "forbidden": "Not allowed", "failed": "The operator name, password or authenticator code is not correct.",
           "locked": "This operator is locked for 15 minutes after five failed logins.", "recalled": "recalled", "queued": "queued",
           "totp": "The authenticator code is not correct.", "missing": "There is no such page."},
    "zh-CN": {"login": "登录", "dashboard": "概览", "send": "发送", "bundles": "文件包", "bundle": "文件包", "audit": "审计",
              "forbidden": "无权访问", "failed": "操作员名称、密码或验证码不正确。", "locked": "连续五次登录失败，该操作员已锁定 15 分钟。",
              "recalled": "已撤回", "queued": "已排队", "totp": "验证码不正确。", "missing": "没有此页面。"},
}
ROLES_SEND = {"claims-operator"}


class State:
    def __init__(self, config):
        self.operators = config["operators"]
        self.roles = config.get("roles", {})
        self.partner = config.get("partner", "acme-assessors")
        self.sessions = {}      # token -> {"operator", "csrf"}
        self.failures = {}
        self.locked = set()
        self.used_steps = {}
        self.bundles = {}       # id -> {"claim", "state", "history"}
        self.audit = []

    def totp_ok(self, name, code):
        totp = pyotp.TOTP(self.operators[name]["totp"])
        for drift in (0, -1, 1):
            step = int(time.time() // 30) + drift
            if totp.at(step * 30) == code and step > self.used_steps.get(name, -1):
                self.used_steps[name] = step
                return True
        return False


class Handler(BaseHTTPRequestHandler):
    state = None
    base = ""

    def log_message(self, *a):
        pass

    # Plumbing

    def cookies(self):
        out = {}
        for part in (self.headers.get("Cookie") or "").split(";"):
            if "=" in part:
                k, v = part.strip().split("=", 1)
                out[k] = v
        return out

    def lang(self):
        c = self.cookies().get("__Host-claimgate-lang")
        if c in TEXT:
            return c
        return "zh-CN" if (self.headers.get("Accept-Language") or "").lower().startswith("zh") else "en"

    def t(self, key):
        return TEXT[self.lang()][key]

    def session(self):
        return self.state.sessions.get(self.cookies().get("__Host-claimgate-session", ""))

    def send(self, status, body="", headers=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def redirect(self, where, headers=()):
        self.send(303, "", [("Location", where)] + list(headers))

    def page(self, status, title, body, error=None, headers=()):
        s = self.session()
        nav = ""
        if s:
            roles = self.state.roles.get(s["operator"], [])
            links = [("dashboard", "/", self.t("dashboard")), ("bundles", "/bundles", self.t("bundles")),
                     ("audit", "/audit", self.t("audit"))]
            if ROLES_SEND & set(roles):
                links.insert(1, ("send", "/send", self.t("send")))
            nav = '<nav id="nav">%s</nav><form id="logout-form" method="post" action="/logout"><input type="hidden" name="csrf" value="%s"><button id="logout-submit">x</button></form>' % (
                "".join('<a id="nav-%s" href="%s">%s</a> ' % l for l in links), s["csrf"])
        langs = '<a id="lang-zh-CN" href="/lang?to=zh-CN">中文</a> <a id="lang-en" href="/lang?to=en">English</a>'
        err = '<p id="error">%s</p>' % html.escape(error) if error else ""
        self.send(status, '<!doctype html><html lang="%s"><head><meta charset="utf-8"><title>%s</title></head><body>%s%s<h1 id="page-title">%s</h1>%s%s</body></html>' % (
            self.lang(), html.escape(title), langs, nav, html.escape(title), err, body), headers)

    def guard(self, form=None):
        """CSRF and Origin for a POST; False (and a 403 sent) when refused."""
        origin = self.headers.get("Origin")
        if origin is not None and origin != self.base:
            self.page(403, self.t("forbidden"), "")
            return False
        s = self.session()
        if s is None or form is None or form.get("csrf") != s["csrf"]:
            self.page(403, self.t("forbidden"), "")
            return False
        return True

    def form(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        ctype = self.headers.get("Content-Type") or ""
        if ctype.startswith("multipart/form-data"):
            msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw)
            fields, files = {}, []
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if part.get_filename():
                    files.append((part.get_filename(), part.get_payload(decode=True)))
                else:
                    fields[name] = part.get_payload(decode=True).decode()
            return fields, files
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}, []

    # Routes

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
        if u.path == "/lang":
            to = q.get("to") if q.get("to") in TEXT else "en"
            return self.redirect("/", [("Set-Cookie", "__Host-claimgate-lang=%s; Path=/; Secure; SameSite=Strict" % to)])
        if u.path == "/login":
            # Reuse the login cookie: a second load (the favicon's redirect, another tab) must not
            # invalidate the form already shown.
            token = self.cookies().get("__Host-claimgate-login") or secrets.token_urlsafe(16)
            body = ('<form id="login-form" method="post" action="/login"><input type="hidden" name="csrf" value="%s">'
                    '<input id="operator" name="operator"><input id="password" name="password" type="password">'
                    '<input id="totp" name="totp" inputmode="numeric"><button id="login-submit">%s</button></form>') % (token, self.t("login"))
            return self.page(200, self.t("login"), body, headers=[("Set-Cookie", "__Host-claimgate-login=%s; Path=/; Secure; HttpOnly; SameSite=Strict" % token)])
        s = self.session()
        if s is None:
            return self.redirect("/login")
        roles = self.state.roles.get(s["operator"], [])
        if u.path == "/":
            return self.page(200, self.t("dashboard"), "<p>ok</p>")
        if u.path == "/send":
            if not ROLES_SEND & set(roles):
                return self.page(403, self.t("forbidden"), "")
            if "partner" not in q:
                return self.page(200, self.t("send"), '<form id="send-partner" method="get" action="/send"><select id="partner" name="partner"><option value="%s">%s</option></select><button id="send-partner-submit">→</button></form>' % (self.state.partner, self.state.partner))
            return self.page(200, self.t("send"), (
                '<form id="send-form" method="post" action="/send" enctype="multipart/form-data"><input type="hidden" name="csrf" value="%s">'
                '<input type="hidden" name="partner" value="%s"><input id="claim" name="claim"><select id="purpose" name="purpose"><option value="claim-assessment">claim-assessment</option></select>'
                '<input id="ttl" name="ttl"><input id="expires" name="expires" type="date"><textarea id="metadata" name="metadata"></textarea>'
                '<input id="documents" name="documents" type="file" multiple required><button id="send-submit">→</button></form>') % (s["csrf"], html.escape(q["partner"])))
        if u.path == "/bundles":
            rows = "".join('<tr class="bundle" data-bundle="%s"><td><a class="bundle-link" href="/bundles/%s">%s</a></td><td>%s</td></tr>' % (i, i, i, html.escape(b["claim"]))
                           for i, b in self.state.bundles.items() if q.get("claim", "") in b["claim"])
            return self.page(200, self.t("bundles"), '<form id="bundle-search" method="get" action="/bundles"><input name="claim" value="%s"><button>?</button></form><table id="bundles">%s</table>' % (html.escape(q.get("claim", "")), rows))
        if u.path.startswith("/bundles/") and u.path[9:] in self.state.bundles:
            i = u.path[9:]
            b = self.state.bundles[i]
            history = "".join("<tr><td>%s</td></tr>" % html.escape(h) for h in b["history"])
            recall = ('<form id="recall-form" method="post" action="/bundles/%s/recall"><input type="hidden" name="csrf" value="%s"><textarea id="reason" name="reason" required></textarea>'
                      '<input id="recall-totp" name="totp" required><button id="recall-submit">↩</button></form>') % (i, s["csrf"])
            return self.page(200, self.t("bundle"), '<dl><dt>state</dt><dd id="bundle-state" data-state="%s">%s</dd></dl><table id="history">%s</table>%s' % (
                b["state"], self.t(b["state"]), history, recall), error=q.get("error"))
        if u.path == "/audit":
            rows = "".join("<tr><td>%s</td><td>%s</td><td>%s</td></tr>" % tuple(html.escape(x) for x in e) for e in self.state.audit)
            return self.page(200, self.t("audit"), '<p id="chain-state">intact</p><p id="last-checkpoint">none</p><table id="entries">%s</table>' % rows)
        return self.page(404, self.t("missing"), "")

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        fields, files = self.form()
        if u.path == "/login":
            origin = self.headers.get("Origin")
            if (origin is not None and origin != self.base) or not fields.get("csrf") or fields.get("csrf") != self.cookies().get("__Host-claimgate-login"):
                print("mock: login refused (Origin %r, csrf field %s, login cookie %s)" % (
                    origin, "present" if fields.get("csrf") else "missing",
                    "present" if self.cookies().get("__Host-claimgate-login") else "missing"), file=sys.stderr, flush=True)
                return self.page(403, self.t("forbidden"), "")
            name = fields.get("operator", "")
            st = self.state
            if name in st.locked:
                return self.page(200, self.t("login"), self.login_again(), error=self.t("locked"))
            op = st.operators.get(name)
            if not op or op["password"] != fields.get("password") or not st.totp_ok(name, fields.get("totp", "")):
                st.failures[name] = st.failures.get(name, 0) + 1
                if st.failures[name] >= 5:
                    st.locked.add(name)
                return self.page(200, self.t("login"), self.login_again(), error=self.t("failed"))
            token = secrets.token_urlsafe(24)
            st.sessions[token] = {"operator": name, "csrf": secrets.token_urlsafe(16)}
            return self.redirect("/", [("Set-Cookie", "__Host-claimgate-session=%s; Path=/; Secure; HttpOnly; SameSite=Strict" % token)])
        if not self.guard(fields):
            return
        s = self.session()
        roles = self.state.roles.get(s["operator"], [])
        if u.path == "/logout":
            self.state.sessions.pop(self.cookies().get("__Host-claimgate-session"), None)
            return self.redirect("/login")
        if u.path == "/send":
            if not ROLES_SEND & set(roles):
                return self.page(403, self.t("forbidden"), "")
            i = str(uuid.uuid4())
            self.state.bundles[i] = {"claim": fields.get("claim", ""), "state": "queued",
                                     "history": ["sealed %d documents: %s" % (len(files), ", ".join(f for f, _ in files))]}
            self.state.audit.append((i, "queue", "success"))
            return self.redirect("/bundles/" + i)
        if u.path.startswith("/bundles/") and u.path.endswith("/recall"):
            i = u.path[9:-7]
            if not self.state.totp_ok(s["operator"], fields.get("totp", "")):
                return self.redirect("/bundles/%s?error=%s" % (i, urllib.parse.quote(self.t("totp"))))
            self.state.bundles[i]["state"] = "recalled"
            self.state.audit.append((i, "recall", "success"))
            return self.redirect("/bundles/" + i)
        return self.page(404, self.t("missing"), "")

    def login_again(self):
        return '<a href="/login">%s</a><form id="login-form" method="post" action="/login"></form>' % self.t("login")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    a = p.parse_args()
    with open(a.config, encoding="utf-8") as f:
        Handler.state = State(json.load(f))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    Handler.base = "https://127.0.0.1:%d" % server.server_address[1]
    print("console: listening on 127.0.0.1:%d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
