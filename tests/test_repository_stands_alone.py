"""A clone of the repository alone builds, runs and tests: no tracked file reads (or tells a
newcomer to fetch) anything from beside the project or from one machine's folders. Shopify's
schema ships in app/devstore/, the webhook bodies in tests/fixtures/."""
import re
import subprocess

from tests.support import PROJECT_ROOT

# Where the first versions found Shopify's reference pack, and one developer machine's folders.
# (System locations such as /usr/lib/postgresql are fine: they are installed tools, not files.)
OUTSIDE = re.compile(r"""
    \.\./shared                                    # the folder beside the checkout
  | shared/shopify[-]reference                   # (spelled so this file does not match itself)
  | TESSERA_SHARED_DIR
  | parents?(\[\d\]|\.parent)*\s*/\s*["']shared["']  # a Path(...).parent joined with the "shared" folder
  | (?<![\w.])/(work|home|root|Users|mnt)/         # absolute paths of a machine's own folders
""", re.VERBOSE)
THIS_FILE = "tests/test_repository_stands_alone.py"


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True)
    return [name for name in listed.stdout.decode().split("\0") if name]


def tracked_text_files() -> dict[str, str]:
    texts = {}
    for name in tracked_files():
        raw = (PROJECT_ROOT / name).read_bytes() if (PROJECT_ROOT / name).is_file() else b""
        if b"\0" not in raw[:8192] and not name.endswith(".gz"):
            texts[name] = raw.decode("utf-8", errors="replace")
    return texts


def test_no_tracked_file_reads_anything_outside_the_repository():
    found = [f"{name}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0)}"
             for name, text in tracked_text_files().items() if name != THIS_FILE
             for match in OUTSIDE.finditer(text)]
    assert found == []


def test_the_pattern_catches_what_the_first_versions_did():
    beside = ".." + "/shared"  # written in pieces, so that this file does not match itself
    for line in ['candidates = [PROJECT_ROOT.parent / ' + '"shared", Path("/work/shared")]',
                 'os.environ.get("TESSERA_SHARED_DIR")', f"read from `{beside}/shopify-" + "reference`",
                 'open("/home/dev/schema.graphql")']:
        assert OUTSIDE.search(line), line
    assert not OUTSIDE.search('glob.glob(f"/usr/lib/postgresql/*/bin/{name}")')


def test_the_admin_schema_and_the_webhook_fixtures_are_tracked():
    tracked = set(tracked_files())
    assert any(re.fullmatch(r"app/devstore/admin-schema-\d{4}-\d{2}\.graphql\.gz", name) for name in tracked)
    assert "tests/fixtures/shopify/webhooks/orders_paid.json" in tracked
