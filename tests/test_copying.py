"""scaffold's copier Worker: what it skips must not change what copier renders."""

from __future__ import annotations

from pathlib import Path

from scaffold import copying

# One path with copier's `yield` tag (a file per item) beside plain templated paths: the tag's
# state is reset for each path while compiling, which scaffold compiles only once per source.
YIELDED = "{% yield item from items %}{{ item }}{% endyield %}.txt.jinja"


def test_a_yield_path_and_repeated_sources_render_as_in_copier(tmp_path: Path) -> None:
    template = tmp_path / "template"
    (template / "{{ name }}").mkdir(parents=True)
    (template / "copier.yml").write_text(
        "name: {type: str, default: pkg}\nitems: {type: yaml, default: [a, b]}\n",
        encoding="utf-8",
    )
    (template / YIELDED).write_text("{{ item }} of {{ name }}\n", encoding="utf-8")
    for inner in ("one", "two"):
        (template / "{{ name }}" / f"{inner}.txt.jinja").write_text("{{ name }}\n")

    for run in ("first", "second"):  # a second Worker compiles everything again
        dest = tmp_path / run
        copying.render(str(template), None, dest, {"name": "app"}, defaults=True)

        written = {
            p.relative_to(dest).as_posix(): p.read_text() for p in dest.rglob("*") if p.is_file()
        }
        assert written == {
            "a.txt": "a of app\n",
            "b.txt": "b of app\n",
            "app/one.txt": "app\n",
            "app/two.txt": "app\n",
        }


def test_templates_of_other_jinja_settings_compile_their_own(tmp_path: Path) -> None:
    """The same file under other delimiters is another template, in the same process."""
    template = tmp_path / "template"
    template.mkdir()
    (template / "out.txt.jinja").write_text("[[ name ]] {{ name }}\n", encoding="utf-8")
    results = []
    for envops in ("", "_envops: {variable_start_string: '[[', variable_end_string: ']]'}\n"):
        (template / "copier.yml").write_text(f"name: {{type: str}}\n{envops}", encoding="utf-8")
        dest = tmp_path / f"out{len(results)}"
        copying.render(str(template), None, dest, {"name": "app"}, defaults=True)
        results.append((dest / "out.txt").read_text(encoding="utf-8"))
    assert results == ["[[ name ]] app\n", "app {{ name }}\n"]
