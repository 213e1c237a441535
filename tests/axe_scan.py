"""axe-core in the portal's pages: where it is installed (tests/browser, from npm), how it
is injected under the portal's Content-Security-Policy, and what a scan reports.

The portal allows only same-origin scripts (`script-src 'self'`), so an inline script tag
would be refused; instead the browser context answers one same-origin address with the
installed axe.min.js, and `page.add_script_tag(url=...)` loads it from there. The page's
own CSP stays in force during the scan."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from typing import Any

from stack.settings import REPO_ROOT
from tests.test_portal_browser import ARTIFACTS

AXE_JS = REPO_ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
INSTALL_HINT = "npm ci --prefix tests/browser"
AXE_URL_PATH = "/__test-only__/axe.min.js"  # answered by the browser context, never the portal
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = frozenset({"serious", "critical"})
THEMES = ("light", "dark")

_RUN = """async (tags) => {
  const results = await axe.run(document, { runOnly: { type: 'tag', values: tags } });
  const violations = results.violations.map((v) => ({
    rule: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((n) => n.target.join(' ')),
  }));
  return { version: axe.version, passed: results.passes.length, violations };
}"""


def missing_reason() -> str | None:
    """Why the scan cannot run here, or None when axe-core is installed."""
    if AXE_JS.is_file():
        return None
    if shutil.which("npm") is None:
        return "npm is not installed, so axe-core (tests/browser/package.json) is missing"
    return f"axe-core is not installed: run `{INSTALL_HINT}` (make test does)"


@dataclass(frozen=True)
class Violation:
    page: str
    theme: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        where = ", ".join(self.targets)
        return f"[{self.impact}] {self.page} ({self.theme}): {self.rule}: {self.help} → {where}"


async def serve_axe(context: Any) -> None:
    """Let every page of `context` load axe-core from AXE_URL_PATH on its own origin."""
    await context.route(f"**{AXE_URL_PATH}", lambda route: route.fulfill(path=str(AXE_JS)))


async def set_theme(page: Any, theme: str) -> None:
    """Pick `theme` the way a person does: with the toggle, which also remembers it."""
    html = page.locator("html")
    if await html.get_attribute("data-theme") != theme:
        await page.locator("#theme-toggle").click()
    await page.wait_for_function("(t) => document.documentElement.dataset.theme === t", arg=theme)


async def scan(page: Any, label: str, theme: str) -> list[Violation]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.add_script_tag(url=AXE_URL_PATH)
    found = await page.evaluate(_RUN, WCAG_TAGS)
    print(
        f"axe-core {found['version']}: {label} ({theme}): {found['passed']} rules passed, "
        f"{len(found['violations'])} violated"
    )
    return [
        Violation(label, theme, v["rule"], v["impact"] or "minor", v["help"], tuple(v["targets"]))
        for v in found["violations"]
    ]


async def scan_both_themes(page: Any, label: str) -> list[Violation]:
    """Scan the page in the light theme, then in the dark one (toggled in place, so the
    page's state, such as an open directory, stays as it is)."""
    found: list[Violation] = []
    for theme in THEMES:
        await set_theme(page, theme)
        violations = await scan(page, label, theme)
        if any(v.impact in BLOCKING for v in violations):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = re.sub(r"[^a-z0-9]+", "-", f"axe {label} {theme}".lower())
            await page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
        found += violations
    return found


def report(violations: list[Violation]) -> str:
    """Print the moderate and minor ones; return the serious and critical ones as text."""
    for violation in violations:
        if violation.impact not in BLOCKING:
            print(violation)
    return "\n".join(str(v) for v in violations if v.impact in BLOCKING)
