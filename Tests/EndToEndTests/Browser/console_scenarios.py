#!/usr/bin/env python3
"""The console's browser scenarios (issue 17, Tests): headless Chromium from Debian driven by
Selenium, plus Python `requests` where a browser cannot show what is checked (status codes,
headers, forms posted without their token or from another origin).

    console_scenarios.py --url https://127.0.0.1:PORT --config FILE.json --scenario NAME
                         [--screenshots DIR] [--ca GATEWAY.pem]
    console_scenarios.py --url ... --operator claire PASSWORD BASE32 --operator ada ... --scenario NAME

FILE.json: {"operators": {"claire": {"password": "...", "totp": "BASE32"}, ...},
            "partner": "acme-assessors", "purpose": "claim-assessment",
            "sender": "claire", "auditor": "ada", "victim": "lou"}

Scenarios (letters as in the issue's list):
  a  login-send-recall  log in (password + TOTP), send two files, find the bundle under /bundles by
                        claim, open it, recall it (reason + TOTP again), see recall and queue on /audit
  b  auditor            an auditor has no a#nav-send, and GET /send answers 403
  c  csrf-origin        forms without the CSRF token, or from a foreign Origin, are refused (403)
  d  lockout            five wrong TOTP codes lock the operator; the right ones are then refused
  e  zh-CN              Accept-Language zh-CN shows Chinese labels; a#lang-en switches to English
  f  csp                every page answers Content-Security-Policy default-src 'none', no unsafe-inline

Exit status 0 when the scenario passed; 1 with "FAIL: <what>" on stderr when it did not. Lines
"bundle: ID" on stdout name what the scenario made, for the caller's own checks. Nothing is sent
anywhere but 127.0.0.1: Chromium's hosts resolve to nothing and its proxy is a dead port, except
for loopback.
"""
import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
import time
import traceback
import urllib.parse

import pyotp
import requests
import urllib3
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CJK = re.compile(r"[\u4e00-\u9fff]")
FOREIGN_ORIGIN = "https://evil.example"
WAIT = 20


class ScenarioFailed(AssertionError):
    pass



def gone(element):
    """A wait condition: `element` is no longer in the page (the next page replaced it).
    Chromedriver may answer a detached node with "does not belong to the document" instead of
    a stale-element error, in the instant the old page goes: both mean gone."""
    def condition(_driver):
        try:
            element.is_enabled()
            return False
        except WebDriverException:
            return True
    return condition

def check(condition, message):
    if not condition:
        raise ScenarioFailed(message)


# MARK: TOTP

# The last time step used per secret, kept in a file too, so that scenarios run one after another
# against the same gateway (separate processes) never replay a code.
STEPS_FILE = os.path.join(tempfile.gettempdir(), "claimgate-totp-steps.json")


def _steps():
    try:
        with open(STEPS_FILE, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def fresh_code(secret, step=30):
    """A TOTP code for a time step not used before with this secret: the gateway refuses a code
    already used, so wait for the next step when this one was. Never a code in the last two
    seconds of its step (the gateway may read the clock in the next one)."""
    key = hashlib.sha256(secret.encode()).hexdigest()[:16]
    while True:
        now = time.time()
        current = int(now // step)
        if now % step > step - 2 or _steps().get(key, -1) >= current:
            time.sleep(step - now % step + 0.3)
            continue
        steps = _steps()
        steps[key] = current
        with open(STEPS_FILE + ".tmp", "w", encoding="utf-8") as f:
            json.dump(steps, f)
        os.replace(STEPS_FILE + ".tmp", STEPS_FILE)
        return pyotp.TOTP(secret, interval=step).at(current * step)


def wrong_code(secret):
    """A six-digit code that is not the right one for this step nor its neighbours."""
    totp = pyotp.TOTP(secret)
    now = time.time()
    right = {totp.at(now + d) for d in (-60, -30, 0, 30, 60)}
    n = int(totp.at(now))
    while True:
        n = (n + 123457) % 1000000
        code = "%06d" % n
        if code not in right:
            return code


# MARK: The browser

class Console:
    """One browser on the console: Chromium headless, a page at a time, every URL it visited
    kept for the header checks."""

    def __init__(self, args, lang="en"):
        self.base = args.url.rstrip("/")
        self.args = args
        self.lang = lang
        self.visited = []
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                  "--ignore-certificate-errors", "--no-first-run", "--no-default-browser-check",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                  "--metrics-recording-only", "--disable-features=Translate,OptimizationHints,MediaRouter",
                  # Nothing leaves 127.0.0.1: names resolve to nothing, other addresses go to a dead proxy.
                  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                  "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1",
                  "--lang=" + lang):
            options.add_argument(a)
        options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh" if lang == "zh-CN" else "en-US,en"})
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(WAIT)

    def quit(self):
        self.driver.quit()

    def diagnose(self):
        """What the browser shows, on stderr (and a screenshot beside the others), for a failure."""
        try:
            print("--- browser at %s: title %r, error %r" % (self.driver.current_url, self.title(), self.error()), file=sys.stderr)
            body = self.find("body").text if self.has("body") else ""
            print("--- page text:\n%s" % body[:1500], file=sys.stderr)
            for entry in self.driver.get_log("browser")[-10:]:
                print("--- console: %s" % entry.get("message"), file=sys.stderr)
            if self.args.screenshots:
                self.shot("failure-%s" % self.args.scenario)
        except Exception as e:
            print("--- (no diagnostics: %s)" % e, file=sys.stderr)

    # Pages

    def get(self, path):
        self.driver.get(self.base + path)
        self.visited.append(self.driver.current_url)

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def finds(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def has(self, css):
        return len(self.finds(css)) > 0

    def must(self, css, where):
        try:
            return self.find(css)
        except NoSuchElementException:
            raise ScenarioFailed("%s: no %s on %s (title: %r)" % (where, css, self.path(), self.title()))

    def path(self):
        return urllib.parse.urlsplit(self.driver.current_url).path

    def title(self):
        found = self.finds("h1#page-title")
        return found[0].text if found else None

    def error(self):
        found = self.finds("p#error")
        return found[0].text if found else None

    def submit(self, button_css):
        """Clicks a submit button and waits for the next page."""
        old = self.find("html")
        self.must(button_css, "submit").click()
        try:
            WebDriverWait(self.driver, WAIT).until(gone(old))
            WebDriverWait(self.driver, WAIT).until(lambda d: d.execute_script("return document.readyState") == "complete")
        except TimeoutException:
            raise ScenarioFailed("%s: no new page within %d s after %s" % (self.path(), WAIT, button_css))
        self.visited.append(self.driver.current_url)

    def follow(self, link_css):
        link = self.must(link_css, "link")
        href = link.get_attribute("href")
        check(href and href.startswith(self.base + "/"), "%s points away from the console: %r" % (link_css, href))
        old = self.find("html")
        link.click()
        WebDriverWait(self.driver, WAIT).until(gone(old))
        self.visited.append(self.driver.current_url)

    def shot(self, name):
        if self.args.screenshots:
            os.makedirs(self.args.screenshots, exist_ok=True)
            self.driver.save_screenshot(os.path.join(self.args.screenshots, "%s-%s.png" % (self.lang, name)))

    # Sessions

    def login(self, name, code=None, expect_success=True):
        """Logs in as `name` through form#login-form; answers the error shown when refused."""
        operator = self.args.operators[name]
        self.get("/login")
        self.must("form#login-form", "login")
        check(self.find("form#login-form").get_attribute("method").lower() == "post", "form#login-form is not method=post")
        token = self.must("form#login-form input[name=csrf]", "login")
        check(token.get_attribute("type") == "hidden" and token.get_attribute("value"), "the login form's csrf field is not a filled hidden input")
        self.find("input#operator").send_keys(name)
        self.find("input#password").send_keys(operator["password"])
        self.find("input#totp").send_keys(code or fresh_code(operator["totp"]))
        self.submit("button#login-submit")
        if expect_success:
            check(self.has("nav#nav"), "login as %s failed: %s on %s (error: %r)" % (name, self.title(), self.path(), self.error()))
            check(not self.has("form#login-form"), "login as %s: still on the login form" % name)
        return self.error()

    def cookie_header(self):
        return "; ".join("%s=%s" % (c["name"], c["value"]) for c in self.driver.get_cookies())

    def http(self):
        """A `requests` session with this browser's cookies (the __Host- ones are Secure, HttpOnly:
        copied as a Cookie header, not through a jar)."""
        s = requests.Session()
        s.trust_env = False
        s.verify = self.args.ca or False
        s.headers["Cookie"] = self.cookie_header()
        s.headers["Accept-Language"] = "zh-CN,zh" if self.lang == "zh-CN" else "en-US,en"
        return s

    def check_headers(self):
        """(f) Every page visited answers a strict Content-Security-Policy, with the session too."""
        s = self.http()
        for url in dict.fromkeys(self.visited):
            check_csp(s.get(url, allow_redirects=False, timeout=WAIT), url)

    def csp_violations(self):
        return [e["message"] for e in self.driver.get_log("browser")
                if "Content Security Policy" in e.get("message", "") or "Content-Security-Policy" in e.get("message", "")]


def check_csp(response, what):
    policy = response.headers.get("Content-Security-Policy")
    check(policy, "%s (%d): no Content-Security-Policy header" % (what, response.status_code))
    directives = {d.strip().split(" ")[0]: d.strip() for d in policy.split(";") if d.strip()}
    check(directives.get("default-src") == "default-src 'none'",
          "%s: the policy's default-src is not 'none': %r" % (what, policy))
    check("unsafe-inline" not in policy and "unsafe-eval" not in policy,
          "%s: the policy allows unsafe-inline or unsafe-eval: %r" % (what, policy))


def hidden(c, form_css):
    return c.must("%s input[name=csrf]" % form_css, "csrf").get_attribute("value")


# MARK: Scenarios

def scenario_login_send_recall(args):
    sender = args.sender
    c = Console(args)
    try:
        c.get("/login")
        c.shot("login")
        c.login(sender)
        c.shot("dashboard")
        check(c.title(), "the dashboard has no h1#page-title")
        cookies = {k["name"]: k for k in c.driver.get_cookies()}
        session = cookies.get("__Host-claimgate-session")
        check(session, "no __Host-claimgate-session cookie after login (cookies: %s)" % sorted(cookies))
        check(session.get("secure") and session.get("httpOnly") and session.get("sameSite") == "Strict" and session.get("path") == "/",
              "the session cookie is not Secure, HttpOnly, SameSite=Strict, Path=/: %r" % {k: session.get(k) for k in ("secure", "httpOnly", "sameSite", "path")})

        # Send: choose the partner, then the form with two documents.
        c.follow("a#nav-send")
        c.must("form#send-partner", "send")
        Select(c.find("select#partner")).select_by_value(args.partner)
        c.submit("button#send-partner-submit")
        form = c.must("form#send-form", "send step 2")
        check(form.get_attribute("enctype") == "multipart/form-data", "form#send-form is not multipart/form-data")
        claim = "CLM-E2E-%d" % int(time.time())
        c.find("input#claim").send_keys(claim)
        Select(c.find("select#purpose")).select_by_value(args.purpose)
        c.find("input#ttl").send_keys("7d")
        c.find("textarea#metadata").send_keys("claimant.name=张三")
        folder = tempfile.mkdtemp(prefix="claimgate-browser-")
        documents = []
        for name, text in (("理赔报告.pdf", "%PDF-1.4\n% 理赔报告\n"), ("invoice.pdf", "%PDF-1.4\n% invoice\n")):
            path = os.path.join(folder, name)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            documents.append(path)
        check(c.find("input#documents").get_attribute("multiple") is not None, "input#documents does not take several files")
        c.find("input#documents").send_keys("\n".join(documents))
        c.shot("send")
        c.submit("button#send-submit")
        m = re.fullmatch(r"/bundles/([0-9A-Za-z-]+)", c.path())
        check(m, "sending did not lead to /bundles/ID but to %s (title %r, error %r)" % (c.path(), c.title(), c.error()))
        bundle = m.group(1)
        print("bundle: %s" % bundle, flush=True)
        c.must("dd#bundle-state", "the new bundle")

        # Find it under /bundles by claim, open it.
        c.follow("a#nav-bundles")
        search = c.must("form#bundle-search", "bundles")
        check((search.get_attribute("method") or "get").lower() == "get", "form#bundle-search is not method=get")
        field = c.must("form#bundle-search [name=claim]", "bundles")
        field.clear()
        field.send_keys(claim)
        field.submit()
        WebDriverWait(c.driver, WAIT).until(lambda d: "claim=" in d.current_url)
        c.visited.append(c.driver.current_url)
        rows = c.finds("table#bundles tr.bundle")
        check([r.get_attribute("data-bundle") for r in rows] == [bundle],
              "searching claim %s lists %r, not just %s" % (claim, [r.get_attribute("data-bundle") for r in rows], bundle))
        c.shot("bundles")
        c.follow('table#bundles tr.bundle[data-bundle="%s"] a.bundle-link' % bundle)
        check(c.path() == "/bundles/" + bundle, "the bundle link leads to %s" % c.path())
        c.must("table#history", "bundle")
        before = c.find("dd#bundle-state").text

        # Recall: reason and the TOTP again; a wrong code is refused first.
        c.must("form#recall-form", "bundle")
        check(c.find("input#recall-totp").get_attribute("required") is not None, "input#recall-totp is not required")
        c.find("textarea#reason").send_keys("Sent to the wrong assessor (browser test) 误发")
        c.find("input#recall-totp").send_keys(wrong_code(args.operators[sender]["totp"]))
        c.submit("button#recall-submit")
        check(c.error(), "a recall with a wrong TOTP code shows no p#error (on %s)" % c.path())
        c.get("/bundles/" + bundle)
        check(c.find("dd#bundle-state").text == before, "a recall with a wrong TOTP code changed the bundle's state")
        c.find("textarea#reason").send_keys("Sent to the wrong assessor (browser test) 误发")
        c.find("input#recall-totp").send_keys(fresh_code(args.operators[sender]["totp"]))
        c.submit("button#recall-submit")
        check(not c.error(), "the recall was refused: %r" % c.error())
        if c.path() != "/bundles/" + bundle:
            c.get("/bundles/" + bundle)
        state = c.find("dd#bundle-state")
        check(state.text != before and ("recall" in state.text.lower() or state.get_attribute("data-state") == "recalled"),
              "after the recall the bundle's state reads %r (before %r)" % (state.text, before))
        c.shot("bundle")

        # The audit page: chain state, last checkpoint, and the bundle's queue and recall entries.
        c.follow("a#nav-audit")
        c.must("#chain-state", "audit")
        c.must("#last-checkpoint", "audit")
        entries = [r.text for r in c.finds("table#entries tr") if bundle in r.text or bundle[:8] in r.text]
        check(any("recall" in e for e in entries) and any("queue" in e for e in entries),
              "/audit shows no recall and queue entries for %s: %r" % (bundle, entries))
        c.shot("audit")
        c.check_headers()
    except BaseException:
        c.diagnose()
        raise
    finally:
        c.quit()


def scenario_auditor(args):
    c = Console(args)
    try:
        c.login(args.auditor)
        nav = [a.get_attribute("id") for a in c.finds("nav#nav a")]
        check("nav-send" not in nav, "the auditor's navigation offers the send page: %r" % nav)
        check("nav-audit" in nav, "the auditor's navigation has no audit page: %r" % nav)
        c.get("/send")
        check(not c.has("form#send-partner") and not c.has("form#send-form"), "the auditor sees the send form at /send")
        check(c.title(), "the refusal page has no h1#page-title")
        s = c.http()
        for path in ("/send", "/send?partner=" + urllib.parse.quote(args.partner)):
            r = s.get(c.base + path, allow_redirects=False, timeout=WAIT)
            check(r.status_code == 403, "GET %s as the auditor answers %d, not 403" % (path, r.status_code))
            check_csp(r, "GET %s (403)" % path)
        token = hidden(c, "form#logout-form")
        r = s.post(c.base + "/send", files={"csrf": (None, token), "partner": (None, args.partner), "claim": (None, "CLM-X"),
                                            "documents": ("x.pdf", b"%PDF-1.4\n", "application/pdf")},
                   headers={"Origin": c.base}, allow_redirects=False, timeout=WAIT)
        check(r.status_code == 403, "POST /send as the auditor answers %d, not 403" % r.status_code)
        c.check_headers()
    except BaseException:
        c.diagnose()
        raise
    finally:
        c.quit()


def scenario_csrf_origin(args):
    c = Console(args)
    try:
        c.login(args.sender)
        s = c.http()
        token = hidden(c, "form#logout-form")
        check(token, "form#logout-form has no csrf token")
        document = ("x.pdf", b"%PDF-1.4\n", "application/pdf")
        send = {"partner": (None, args.partner), "claim": (None, "CLM-CSRF"), "purpose": (None, args.purpose),
                "ttl": (None, "7d"), "documents": document}
        attempts = [
            ("POST /send without the csrf token", "/send", dict(files=send, headers={"Origin": c.base})),
            ("POST /send with a wrong csrf token", "/send", dict(files=dict(send, csrf=(None, token[::-1] + "x")), headers={"Origin": c.base})),
            ("POST /send from a foreign Origin", "/send", dict(files=dict(send, csrf=(None, token)), headers={"Origin": FOREIGN_ORIGIN})),
            ("POST /logout without the csrf token", "/logout", dict(data={}, headers={"Origin": c.base})),
            ("POST /logout from a foreign Origin", "/logout", dict(data={"csrf": token}, headers={"Origin": FOREIGN_ORIGIN})),
            ("POST /logout from Origin null", "/logout", dict(data={"csrf": token}, headers={"Origin": "null"})),
        ]
        for what, path, kw in attempts:
            r = s.post(c.base + path, allow_redirects=False, timeout=WAIT, **kw)
            check(r.status_code == 403, "%s answers %d, not 403" % (what, r.status_code))
            check_csp(r, what)
        # Still logged in: none of those did anything.
        r = s.get(c.base + "/", allow_redirects=False, timeout=WAIT)
        check(r.status_code == 200, "after the refused posts GET / answers %d: the session was affected" % r.status_code)

        # The login form: its token is double-submitted (cookie __Host-claimgate-login and field).
        fresh = requests.Session()
        fresh.trust_env = False
        fresh.verify = args.ca or False
        page = fresh.get(c.base + "/login", timeout=WAIT)
        check(page.status_code == 200, "GET /login answers %d" % page.status_code)
        check("__Host-claimgate-login" in page.cookies or "__Host-claimgate-login" in page.headers.get("Set-Cookie", ""),
              "GET /login sets no __Host-claimgate-login cookie")
        m = re.search(r'<input[^>]*name="csrf"[^>]*value="([^"]+)"', page.text) or re.search(r'<input[^>]*value="([^"]+)"[^>]*name="csrf"', page.text)
        check(m, "the login page has no csrf input")
        login_cookie = "__Host-claimgate-login=" + (page.cookies.get("__Host-claimgate-login") or "")
        operator = args.operators[args.sender]
        credentials = {"operator": args.sender, "password": operator["password"], "totp": wrong_code(operator["totp"])}
        for what, headers, data in [
            ("POST /login without the csrf field", {"Origin": c.base, "Cookie": login_cookie}, credentials),
            ("POST /login without the login cookie", {"Origin": c.base}, dict(credentials, csrf=m.group(1))),
            ("POST /login from a foreign Origin", {"Origin": FOREIGN_ORIGIN, "Cookie": login_cookie}, dict(credentials, csrf=m.group(1))),
        ]:
            r = requests.post(c.base + "/login", data=data, headers=headers, allow_redirects=False, verify=args.ca or False, timeout=WAIT)
            check(r.status_code == 403, "%s answers %d, not 403" % (what, r.status_code))
            check_csp(r, what)

        # The control: the same logout with the token and this Origin works.
        r = s.post(c.base + "/logout", data={"csrf": token}, headers={"Origin": c.base}, allow_redirects=False, timeout=WAIT)
        check(r.status_code in (302, 303), "POST /logout with its token answers %d, not a redirect" % r.status_code)
        r = s.get(c.base + "/", allow_redirects=False, timeout=WAIT)
        check(r.status_code in (302, 303, 401) and "/login" in r.headers.get("Location", "/login"),
              "after logging out GET / answers %d (Location %r)" % (r.status_code, r.headers.get("Location")))
        c.check_headers()
    except BaseException:
        c.diagnose()
        raise
    finally:
        c.quit()


def scenario_lockout(args, locked_words=("locked", "锁定")):
    victim = args.victim
    secret = args.operators[victim]["totp"]
    c = Console(args)
    try:
        errors = []
        for attempt in range(5):
            errors.append(c.login(victim, code=wrong_code(secret), expect_success=False))
            check(c.has("form#login-form") and not c.has("nav#nav"), "a wrong TOTP code (try %d) logged %s in" % (attempt + 1, victim))
            check(errors[-1], "a wrong TOTP code (try %d) shows no p#error" % (attempt + 1))
        error = c.login(victim, expect_success=False)
        check(c.has("form#login-form") and not c.has("nav#nav"),
              "after five wrong codes the right password and code still log %s in" % victim)
        check(error and any(w in error.lower() for w in locked_words),
              "the sixth try is refused without the locked message: %r (the wrong-code message: %r)" % (error, errors[0]))
        c.check_headers()
    except BaseException:
        c.diagnose()
        raise
    finally:
        c.quit()


def scenario_zh_cn(args):
    c = Console(args, lang="zh-CN")
    try:
        c.get("/login")
        button = c.must("button#login-submit", "login").text
        check(CJK.search(button), "in zh-CN the login button reads %r, no Chinese" % button)
        check(c.driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN", "<html lang> is not zh-CN")
        r = requests.get(c.base + "/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}, verify=args.ca or False, timeout=WAIT)
        check(CJK.search(r.text), "GET /login with Accept-Language zh-CN has no Chinese text")
        c.shot("login")
        c.login(args.sender)
        check(CJK.search(c.title() or ""), "in zh-CN the dashboard's title reads %r" % c.title())
        c.shot("dashboard")
        if args.screenshots:
            pages = [("a#nav-send", "send"), ("a#nav-bundles", "bundles")]
            for link, name in pages:
                c.get("/")
                c.follow(link)
                if name == "send":
                    Select(c.find("select#partner")).select_by_value(args.partner)
                    c.submit("button#send-partner-submit")
                c.shot(name)
            links = c.finds("table#bundles tr.bundle a.bundle-link")
            if links:
                c.follow("table#bundles tr.bundle a.bundle-link")
                c.shot("bundle")
            c.get("/")
            c.follow("a#nav-audit")
            c.shot("audit")
        # Switch to English.
        c.follow("a#lang-en")
        check(c.driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en", "after a#lang-en <html lang> is not en")
        check(not CJK.search(c.title() or ""), "after a#lang-en the title still reads %r" % c.title())
        check(c.has("nav#nav"), "switching the language lost the session")
        lang = [k for k in c.driver.get_cookies() if k["name"] == "__Host-claimgate-lang"]
        check(lang and lang[0]["value"] == "en", "after a#lang-en the cookie __Host-claimgate-lang is %r" % lang)
        c.follow("a#lang-zh-CN")
        check(CJK.search(c.title() or ""), "after a#lang-zh-CN the title reads %r" % c.title())
        c.check_headers()
    except BaseException:
        c.diagnose()
        raise
    finally:
        c.quit()


def scenario_csp(args):
    c = Console(args)
    try:
        s = requests.Session()
        s.trust_env = False
        s.verify = args.ca or False
        check_csp(s.get(c.base + "/login", timeout=WAIT), "GET /login (no session)")
        c.login(args.sender)
        links = [a.get_attribute("id") for a in c.finds("nav#nav a")]
        check(len(links) >= 3, "the navigation has only %r" % links)
        for link in links:
            c.get("/")
            c.follow("a#" + link)
        s = c.http()
        for path in ("/no-such-page", "/operators", "/bundles/00000000-0000-0000-0000-000000000000"):
            r = s.get(c.base + path, allow_redirects=False, timeout=WAIT)
            check_csp(r, "GET %s (%d)" % (path, r.status_code))
        c.check_headers()
        violations = c.csp_violations()
        check(not violations, "the browser reported Content-Security-Policy violations: %r" % violations[:5])
        inline = c.driver.execute_script("return document.querySelectorAll('script:not([src]), [style], [onclick], [onload]').length")
        check(inline == 0, "the page %s has %d inline scripts, style attributes or handlers" % (c.path(), inline))
    except BaseException:
        c.diagnose()
        raise
    finally:
        c.quit()


SCENARIOS = {
    "login-send-recall": scenario_login_send_recall, "a": scenario_login_send_recall,
    "auditor": scenario_auditor, "b": scenario_auditor,
    "csrf-origin": scenario_csrf_origin, "c": scenario_csrf_origin,
    "lockout": scenario_lockout, "d": scenario_lockout,
    "zh-CN": scenario_zh_cn, "e": scenario_zh_cn,
    "csp": scenario_csp, "f": scenario_csp,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="the console, https://127.0.0.1:PORT")
    p.add_argument("--config", help="a JSON file with operators, partner, purpose and who plays which part")
    p.add_argument("--operator", nargs=3, action="append", default=[], metavar=("NAME", "PASSWORD", "TOTP_SECRET"))
    p.add_argument("--partner", help="the partner to send to")
    p.add_argument("--purpose", help="the purpose to choose (default claim-assessment)")
    p.add_argument("--sender", help="the claims operator (default claire)")
    p.add_argument("--auditor", help="the auditor without the send page (default ada)")
    p.add_argument("--victim", help="the operator the lockout scenario locks (default lou)")
    p.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    p.add_argument("--screenshots", default=os.environ.get("CLAIMGATE_SCREENSHOTS") or None, help="a folder for PNGs")
    p.add_argument("--ca", help="the gateway's CA certificate for Python's requests (default: not verified)")
    args = p.parse_args()

    config = {}
    if args.config:
        with open(args.config, encoding="utf-8") as f:
            config = json.load(f)
    args.operators = dict(config.get("operators", {}))
    for name, password, secret in args.operator:
        args.operators[name] = {"password": password, "totp": secret}
    for key, default in (("partner", None), ("purpose", "claim-assessment"), ("sender", "claire"),
                         ("auditor", "ada"), ("victim", "lou")):
        if getattr(args, key) is None:
            setattr(args, key, config.get(key, default))
    u = urllib.parse.urlsplit(args.url)
    if u.scheme != "https" or u.hostname != "127.0.0.1":
        p.error("--url must be https://127.0.0.1:PORT (the tests talk to nothing else)")
    if not args.ca:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    os.environ["SE_OFFLINE"] = "true"
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not os.access(tool, os.X_OK):
            print("FAIL: %s is missing: run scripts/install-deps" % tool, file=sys.stderr)
            return 1

    started = time.time()
    try:
        SCENARIOS[args.scenario](args)
    except ScenarioFailed as e:
        print("FAIL: scenario %s: %s" % (args.scenario, e), file=sys.stderr)
        return 1
    except Exception:
        print("FAIL: scenario %s stopped on an error:\n%s" % (args.scenario, traceback.format_exc()), file=sys.stderr)
        return 1
    print("ok: scenario %s (%.0f s)" % (args.scenario, time.time() - started), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
