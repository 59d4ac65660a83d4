"""On-device scoring in headless Chromium: time per photo with CPU throttling, and agreement
with the service on the same photos.

    python benchmarks/ondevice_browser.py [--model DIR] [--photos N] [--large N]
                                          [--throttle 1,4,6] [--repeat R]

Starts the real service (uvicorn, fresh data directory) serving the bundle, opens the field
page in Debian Chromium (Playwright, 390×844 phone viewport), saves an inspector key and waits
for the page's on-device model (onnxruntime-web, WebAssembly, one thread). Then it scores
photos with the page's own module (``js/ondevice.js``: decode, the Pillow resize port, the
network and the decision graph) and the service's ``POST /v1/score`` on the same bytes.

Photos: ``--photos`` real JPEGs of ``../shared/datasets/plants-v1`` (at most 512 px), and
``--large`` of them enlarged to 4000×3000 and saved as JPEG quality 90 (a 12 MP phone photo's
size; the service then decodes at a reduced scale and the phone averages blocks instead, so
these show what that costs in agreement). Timing is the module's own ``ms`` (from the blob to
the verdict; the first photo's, which creates the WebAssembly sessions, is reported apart),
the median of ``--repeat`` passes per throttle rate. Chrome DevTools' CPU throttling
(``Emulation.setCPUThrottlingRate``) slows the page's main thread by the rate; Lighthouse
calls 4× a mid-tier mobile phone. The ratios against 1× are from the same run.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import os
import platform
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_service import SHARED, free_port, pick_model, start_server  # noqa: E402

CHROMIUM = os.environ.get("PLANTSCOUT_CHROMIUM", "/usr/bin/chromium")
SCORE_IN_PAGE = """async (photos) => {
  const ondevice = await import("./js/ondevice.js");
  await ondevice.load();
  const out = [];
  for (const b64 of photos) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const { score, ms } = await ondevice.score(new Blob([bytes], { type: "image/jpeg" }));
    out.push({ verdict: score.verdict, probabilities: score.probabilities, ms });
  }
  return out;
}"""


def real_photos(n: int) -> list[tuple[str, bytes]]:
    manifest = SHARED / "datasets" / "plants-v1" / "manifest.csv"
    if not manifest.is_file():
        sys.exit(f"{manifest} is missing: the benchmark scores real photos from ../shared")
    with open(manifest, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["kind"] == "photo"]
    step = max(1, len(rows) // n)
    picked = rows[::step][:n]
    return [(Path(r["path"]).name, (manifest.parent / r["path"]).read_bytes()) for r in picked]


def enlarged(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    if image.width < image.height:
        image = image.rotate(90, expand=True)
    out = io.BytesIO()
    image.resize((4000, 3000), Image.Resampling.BICUBIC).save(out, "JPEG", quality=90)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="bundle directory (default release)")
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--large", type=int, default=4)
    parser.add_argument("--throttle", default="1,4,6")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rates = [float(r) for r in args.throttle.split(",")]
    load_before = os.getloadavg()[0]
    small = real_photos(args.photos)
    large = [(f"{name} (4000×3000)", enlarged(data)) for name, data in small[: args.large]]

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="plantscout-ondevice-") as tmp:
        work = Path(tmp)
        bundle, model_text = pick_model(args.model, work)
        env = {
            **os.environ,
            "PLANTSCOUT_DATA_DIR": str(work / "var"),
            "PLANTSCOUT_MODEL_PATH": bundle,
            "PLANTSCOUT_LOG_JSON": "false",
            "PLANTSCOUT_LOG_LEVEL": "WARNING",
        }
        os.environ.update({k: v for k, v in env.items() if k.startswith("PLANTSCOUT_")})
        from plantscout.serve.app import open_database
        from plantscout.serve.keys import mint_key
        from plantscout.serve.settings import Settings
        from plantscout.serve.vocab import Role

        db = open_database(Settings(_env_file=None))
        with db.write() as session:
            key = mint_key(session, role=Role.INSPECTOR, name="bench", unit="bench").key
        db.dispose()
        port = free_port()
        server = start_server(env, port)
        url = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=120) as client:
                served = {}
                for name, data in small + large:
                    response = client.post(
                        "/v1/score", files=[("photos", ("p.jpg", data, "image/jpeg"))]
                    )
                    response.raise_for_status()
                    served[name] = response.json()["photos"][0]["score"]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--headless", "--no-sandbox"]
                )
                context = browser.new_context(
                    base_url=url, viewport={"width": 390, "height": 844}, is_mobile=True
                )
                page = context.new_page()
                page.goto("/")
                page.fill("#api-key", key)
                page.click("#key-form button[type=submit]")
                page.click(".tabs [data-view=capture]")
                page.wait_for_selector("#model-status[data-state=ready]", timeout=120000)
                cdp = context.new_cdp_session(page)
                encoded = {n: base64.b64encode(d).decode() for n, d in small + large}
                first = page.evaluate(SCORE_IN_PAGE, [encoded[small[0][0]]])[0]["ms"]
                timings: dict[float, dict[str, list[float]]] = {}
                device: dict[str, dict] = {}
                for rate in rates:
                    cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
                    per = {"small": [], "large": []}
                    for _ in range(args.repeat):
                        for kind, group in (("small", small), ("large", large)):
                            names = [n for n, _ in group]
                            results = page.evaluate(SCORE_IN_PAGE, [encoded[n] for n in names])
                            for name, result in zip(names, results, strict=True):
                                per[kind].append(result["ms"])
                                device[name] = result
                    timings[rate] = per
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=60)

    def agreement(group):
        same = sum(device[n]["verdict"] == served[n]["verdict"] for n, _ in group)
        diff = max(
            abs(device[n]["probabilities"][k] - p)
            for n, _ in group
            for k, p in served[n]["probabilities"].items()
        )
        verdicts = sorted({served[n]["verdict"] for n, _ in group})
        return same, diff, verdicts

    print(f"date: {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, load average before {load_before:.2f}, "
        f"after {os.getloadavg()[0]:.2f}"
    )
    print(f"model: {model_text}; browser: {CHROMIUM}")
    print(f"first photo (creates the WebAssembly sessions), 1×: {first:.0f} ms")
    print()
    print(
        "| CPU throttling | real photos ≤512 px, median ms | 12 MP JPEG, median ms | ratio vs 1× |"
    )
    print("| --- | --- | --- | --- |")
    base = statistics.median(timings[rates[0]]["small"])
    for rate in rates:
        s = statistics.median(timings[rate]["small"])
        big = statistics.median(timings[rate]["large"]) if large else float("nan")
        print(
            f"| {rate:g}× | {s:.0f} (n={len(timings[rate]['small'])}) | {big:.0f} "
            f"(n={len(timings[rate]['large'])}) | {s / base:.2f} |"
        )
    print()
    for label, group in (("real photos ≤512 px", small), ("12 MP enlargements", large)):
        if not group:
            continue
        same, diff, verdicts = agreement(group)
        print(
            f"agreement, {label}: same verdict {same}/{len(group)}; largest probability "
            f"difference {diff:.2e}; service verdicts among them: {', '.join(verdicts)}"
        )


if __name__ == "__main__":
    main()
