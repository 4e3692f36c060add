"""The one reader of workbench.toml: layers, precedence, and typos as clear errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from workbench.config import load_config, user_config_path
from workbench.errors import ConfigError, WorkbenchError
from workbench.local.config import load_config as load_local
from workbench.models import configured


@pytest.fixture
def where(tmp_path: Path) -> dict[str, Path]:
    """A project folder and an XDG config home, both empty."""
    (tmp_path / "project").mkdir()
    return {"cwd": tmp_path / "project", "xdg": tmp_path / "xdg", "tmp": tmp_path}


def write(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def env_of(where: dict[str, Path], **extra: str) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(where["xdg"]), **extra}


def user_file(where: dict[str, Path]) -> Path:
    return user_config_path(env_of(where))


def test_no_files_is_the_defaults(where: dict[str, Path]) -> None:
    config = load_config(where["cwd"], env_of(where))
    assert config.models == {} and config.local == {} and config.sources == ()


def test_user_models_survive_a_project_file(where: dict[str, Path]) -> None:
    write(user_file(where), """
        [models.mine]
        model = "openai/gpt-4o-mini"
        [models.shared]
        model = "openai/user-version"
        concurrency = 4
    """)
    write(where["cwd"] / "workbench.toml", """
        [models.shared]
        model = "openai/project-version"
        [models.team]
        model = "hosted_vllm/q"
        api_base = "http://127.0.0.1:8000/v1"
    """)
    config = load_config(where["cwd"], env_of(where))
    assert set(config.models) == {"mine", "shared", "team"}  # the user's [models] kept
    assert config.models["shared"] == {"model": "openai/project-version"}  # replaced whole
    assert len(config.sources) == 2


def test_precedence_user_project_named_file_then_variables(where: dict[str, Path]) -> None:
    write(user_file(where), "[local]\nn_parallel = 2\nthreads = 1\ncache_ram_mib = 64\n")
    write(where["cwd"] / "workbench.toml", "[local]\nn_parallel = 4\nthreads = 3\n")
    named = write(where["tmp"] / "named.toml", '[local]\nn_parallel = 6\ngguf = "a.gguf"\n')
    env = env_of(where, WORKBENCH_CONFIG=str(named))
    local = load_local(where["cwd"], env)
    assert (local.n_parallel, local.threads, local.cache_ram_mib) == (6, 3, 64)
    assert local.gguf == (where["tmp"] / "a.gguf").resolve()  # relative to its own file
    env["WORKBENCH_LOCAL_GGUF"] = "/models/env.gguf"
    local = load_local(where["cwd"], env)
    assert local.gguf == Path("/models/env.gguf") and local.n_parallel == 6
    assert local.sources[-1] == "WORKBENCH_LOCAL_GGUF" and len(local.sources) == 5


@pytest.mark.parametrize(("body", "needles"), [
    ('[models.x]\nmodle = "openai/q"\n',
     ["Unknown key 'modle' in [models.x]", "Did you mean 'model'?"]),
    ('[models.x]\nmodel = "openai/q"\nconcurency = 4\n',
     ["Unknown key 'concurency' in [models.x]", "Did you mean 'concurrency'?"]),
    ('[models.pool]\nrouter = true\ndeployments = [{model = "openai/q", api_bse = "http://h"}]\n',
     ["Unknown key 'api_bse' in [models.pool] deployment 1", "Did you mean 'api_base'?"]),
    ('[models.x]\nmodel = "openai/q"\ndeployments = []\n',
     ["[models.x]", "deployments do not apply to a single model"]),
    ('[models.x]\nmodel = "openai/q"\nconcurrency = "8"\n', ["[models.x] concurrency"]),
    ('[models.x]\nmodel = "openai/q"\nconcurrency = 0\n', ["[models.x] concurrency"]),
    ("[models.x]\napi_base = \"http://h\"\n", ["[models.x] needs model ="]),
    ('[modles.x]\nmodel = "openai/q"\n', ["Unknown key 'modles'", "Did you mean 'models'?"]),
    ("[run]\nstal_timeout = 3\n", ["Unknown key 'stal_timeout' in [run]"]),
    ("[local]\nn_paralel = 4\n", ["Unknown key 'n_paralel' in [local]",
                                  "Did you mean 'n_parallel'?"]),
    ("local = 3\n", ["`local` must be a table"]),
    ('[models.x]\nmodel = "openai/q"\napi_key = "sk-123"\n', ["keys are never read"]),
    ("[models.x\n", ["Fix the TOML syntax"]),
])
def test_a_typo_anywhere_names_the_file_the_table_and_the_key(
        where: dict[str, Path], body: str, needles: list[str]) -> None:
    path = write(where["cwd"] / "workbench.toml", body)
    with pytest.raises(ConfigError) as info:
        load_config(where["cwd"], env_of(where))
    text = str(info.value)
    assert str(path.resolve()) in text or str(path) in text, text
    for needle in needles:
        assert needle in text, text
    assert "sk-123" not in text


def test_a_typo_in_the_user_file_names_the_user_file(where: dict[str, Path]) -> None:
    path = write(user_file(where), '[models.x]\nmodel = "openai/q"\nnative = true\n')
    write(where["cwd"] / "workbench.toml", '[models.y]\nmodel = "openai/q"\n')
    with pytest.raises(WorkbenchError, match="native") as info:
        load_config(where["cwd"], env_of(where))
    assert str(path.resolve()) in str(info.value) and "Did you mean 'native_n'" in str(info.value)


def test_workbench_config_must_name_a_file(where: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="WORKBENCH_CONFIG=.*names no file"):
        load_config(where["cwd"], env_of(where, WORKBENCH_CONFIG=str(where["tmp"] / "no")))


def test_router_pools_and_models_reach_their_configs(where: dict[str, Path]) -> None:
    write(where["cwd"] / "workbench.toml", """
        [models.pool]
        router = true
        deployments = [{model = "openai/q", api_base = "http://127.0.0.1:1/v1"},
                       {model = "openai/q", api_base = "http://127.0.0.1:2/v1"}]
        [models.one]
        model = "openai/q"
        params = 494000000
    """)
    config = load_config(where["cwd"], env_of(where))
    pool, one = configured("pool", config), configured("one", config)
    assert pool is not None and pool.router is not None and len(pool.router.deployments) == 2
    assert one is not None and one.params_count == 494000000


def test_price_per_mtok_sets_the_price_of_models_and_pools(where: dict[str, Path]) -> None:
    write(where["cwd"] / "workbench.toml", """
        [models.tunnel]
        model = "openai/gpt-4o-mini"
        api_base = "http://127.0.0.1:9/v1"
        price_per_mtok = [0.15, 0.60]
        [models.pool]
        router = true
        price_per_mtok = [1, 2]
        deployments = [{model = "openai/q", api_base = "http://127.0.0.1:1/v1"}]
        [models.free]
        model = "openai/q"
        api_base = "http://127.0.0.1:9/v1"
    """)
    config = load_config(where["cwd"], env_of(where))
    tunnel, pool, free = (configured(n, config) for n in ("tunnel", "pool", "free"))
    assert tunnel is not None and tunnel.price is not None
    assert (tunnel.price.input_per_token, tunnel.price.output_per_token) == (
        pytest.approx(0.15e-6), pytest.approx(0.60e-6))
    assert pool is not None and pool.price is not None
    assert pool.price.output_per_token == pytest.approx(2e-6)
    assert free is not None and free.price is None and free.free_by_default


@pytest.mark.parametrize("bad", ["[0.15]", "[0.15, -1]", '"cheap"'])
def test_a_bad_price_per_mtok_is_refused(where: dict[str, Path], bad: str) -> None:
    write(where["cwd"] / "workbench.toml", f"""
        [models.x]
        model = "openai/q"
        price_per_mtok = {bad}
    """)
    with pytest.raises(ConfigError, match="price_per_mtok"):
        load_config(where["cwd"], env_of(where))
