"""Publishing the site as content-named versions, against moto's S3, and the real
frontend's references checked to stay inside the version a page loads."""

import posixpath
import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from scripts import site
from scripts.common import FRONTEND_DIR

CONFIG = 'export default {apiUrl: "https://api.example/api", wsUrl: "wss://ws.example/api"};\n'


@pytest.fixture
def frontend(tmp_path):
    root = tmp_path / "frontend"
    (root / "js" / "ui").mkdir(parents=True)
    (root / "css").mkdir()
    (root / "index.html").write_text(
        '<!doctype html><link rel=stylesheet href="css/app.css?x=1">'
        "<script type=module src=js/main.js></script>"
        "<a href='#/'>home</a><a href=https://example.com/>out</a><img src='/abs.png'>")
    (root / "js" / "main.js").write_text(
        "import config from '../config.js';\nconst later = () => import('./ui/chat.js');\n")
    (root / "js" / "ui" / "chat.js").write_text("export const chat = 1;\n")
    (root / "css" / "app.css").write_text("body { margin: 0 }\n")
    (root / "config.js").write_text("export default {apiUrl: '/api'};\n")  # local only
    return root


@pytest.fixture
def bucket(aws):
    s3 = aws.client("s3")
    name = "parley-site-test"
    s3.create_bucket(Bucket=name)
    yield s3, name
    site.empty_bucket(s3, name)
    s3.delete_bucket(Bucket=name)


def keys(s3, bucket):
    return set(site.list_keys(s3, bucket))


def version_in(index_html: str) -> str:
    return re.search(r"v/([0-9a-f]{16})/js/main\.js", index_html).group(1)


def test_everything_but_the_page_is_published_under_one_version(bucket, frontend):
    s3, name = bucket
    published = site.upload_site(s3, name, frontend, CONFIG)
    index = s3.get_object(Bucket=name, Key="index.html")["Body"].read().decode()
    version = version_in(index)
    prefix = f"v/{version}/"
    assert set(published) == keys(s3, name) == {
        "index.html", prefix + "config.js", prefix + "js/main.js", prefix + "js/ui/chat.js",
        prefix + "css/app.css"}
    config = s3.get_object(Bucket=name, Key=prefix + "config.js")["Body"].read().decode()
    assert config == CONFIG  # the deploy's, not frontend/config.js


def test_the_page_points_into_its_version_and_leaves_other_references_alone(bucket, frontend):
    s3, name = bucket
    site.upload_site(s3, name, frontend, CONFIG)
    index = s3.get_object(Bucket=name, Key="index.html")["Body"].read().decode()
    prefix = f"v/{version_in(index)}/"
    assert f'href="{prefix}css/app.css?x=1"' in index
    assert f"src={prefix}js/main.js>" in index
    assert "href='#/'" in index and "href=https://example.com/" in index
    assert "src='/abs.png'" in index


def test_versions_never_change_and_are_cached_for_a_year_the_page_never(bucket, frontend):
    s3, name = bucket
    site.upload_site(s3, name, frontend, CONFIG)
    for key in keys(s3, name):
        head = s3.head_object(Bucket=name, Key=key)
        want = "no-cache" if key == "index.html" else "public, max-age=31536000, immutable"
        assert head["CacheControl"] == want, key
        assert head["ContentType"] == site.content_type(key), key
    assert site.content_type("v/x/js/main.js") == "text/javascript; charset=utf-8"


def test_the_same_site_is_the_same_version_and_any_change_a_new_one(frontend):
    version, _ = site.versioned_site(frontend, CONFIG)
    assert site.versioned_site(frontend, CONFIG)[0] == version
    assert site.versioned_site(frontend, CONFIG.replace("api.example", "api2.example"))[0] \
        != version
    (frontend / "js" / "ui" / "chat.js").write_text("export const chat = 2;\n")
    assert site.versioned_site(frontend, CONFIG)[0] != version


def test_a_replaced_version_stays_a_week_for_pages_still_open(bucket, frontend):
    s3, name = bucket
    site.upload_site(s3, name, frontend, CONFIG)
    first = version_in(s3.get_object(Bucket=name, Key="index.html")["Body"].read().decode())
    time.sleep(1.1)  # S3 times are in seconds: the versions' order comes from them
    (frontend / "js" / "ui" / "chat.js").write_text("export const chat = 2;\n")
    site.upload_site(s3, name, frontend, CONFIG)
    second = version_in(s3.get_object(Bucket=name, Key="index.html")["Body"].read().decode())
    assert second != first
    # a page loaded before the deploy still finds the module it imports on demand
    assert f"v/{first}/js/ui/chat.js" in keys(s3, name)

    (frontend / "js" / "ui" / "chat.js").write_text("export const chat = 3;\n")
    later = datetime.now(UTC) + site.KEEP_REPLACED + timedelta(hours=1)
    site.upload_site(s3, name, frontend, CONFIG, now=later)
    versions = {k.split("/")[1] for k in keys(s3, name) if k.startswith("v/")}
    # the first was replaced over a week ago; the second only now
    assert first not in versions and second in versions and len(versions) == 2


def test_files_outside_a_version_are_removed(bucket, frontend):
    s3, name = bucket
    s3.put_object(Bucket=name, Key="js/old-module.js", Body=b"x")  # an unversioned deploy's
    site.upload_site(s3, name, frontend, CONFIG)
    assert "js/old-module.js" not in keys(s3, name)


def test_which_versions_are_kept():
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)

    def objects(**published_days_ago):
        return [{"Key": f"v/{v}/js/main.js", "LastModified": now - timedelta(days=d)}
                for v, d in published_days_ago.items()]

    # a was replaced by b 9 days ago, b by c 3 days ago, c by the current one now
    assert site.versions_to_keep(objects(a=30, b=9, c=3, cur=0), "cur", now) == {"b", "c",
                                                                                  "cur"}
    assert site.versions_to_keep(objects(a=30, b=6, cur=0), "cur", now) == {"a", "b", "cur"}
    assert site.versions_to_keep(objects(cur=0), "cur", now) == {"cur"}


# --- the real frontend ------------------------------------------------------------------

# import x from '...'; export ... from '...'; import '...'; import('...'); new URL('...', import.meta.url)
SPECIFIERS = re.compile(
    r"""(?:\bfrom\s*|\bimport\s*\(?\s*|new URL\(\s*)(['"])([^'"]+)\1""")


def test_every_reference_of_the_published_frontend_stays_inside_its_version():
    """A page loads index.html once and everything else relative to its version: an
    absolute path or a file outside the version would mix versions again."""
    version, bodies = site.versioned_site(FRONTEND_DIR, CONFIG)
    prefix = f"v/{version}/"
    index = bodies["index.html"].decode()
    refs = re.findall(r"""\b(?:src|href)=["']?([^"' >]+)""", index)
    local = [r for r in refs if not r.startswith(("#", "http:", "https:"))]
    assert local and all(r.startswith(prefix) and r in bodies for r in local), local
    modules = [k for k in bodies if k.endswith(".js")]
    assert f"{prefix}js/main.js" in modules and f"{prefix}config.js" in modules
    checked = 0
    for key in modules:
        for _, spec in SPECIFIERS.findall(bodies[key].decode()):
            assert spec.startswith(("./", "../")), f"{key}: {spec} is not relative"
            target = posixpath.normpath(posixpath.join(posixpath.dirname(key), spec))
            assert target.startswith(prefix) and target in bodies, f"{key}: {spec}"
            checked += 1
    assert checked > 50  # static imports, import() and new URL(..., import.meta.url)
