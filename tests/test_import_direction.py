"""The library a user imports (``lavit_mm``) never reaches into the experiment machinery
(``lavit_mm_lab``) or the scripts in ``tools/``: the arrows run tools -> lavit_mm_lab -> lavit_mm
(docs/design.md, "Which module may import which")."""
import ast
import glob
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _imports(path):
    tree = ast.parse(open(path).read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                ('lavit_mm_lab' in node.value or node.value.startswith('tools/')):
            yield node.value  # an import by name, or a script run by path


def test_no_module_of_the_library_imports_the_lab_or_runs_a_tool():
    files = glob.glob(osp.join(ROOT, 'lavit_mm', '**', '*.py'), recursive=True)
    assert len(files) > 50
    wrong = {osp.relpath(f, ROOT): name for f in files for name in _imports(f)
             if name.startswith(('lavit_mm_lab', 'tools'))}
    assert not wrong, wrong


def test_the_check_sees_an_import_of_the_lab(tmp_path):
    path = tmp_path / 'm.py'
    path.write_text('import os\nfrom lavit_mm_lab.compare import x\nrun("tools/train.py")\n')
    assert {'lavit_mm_lab.compare', 'tools/train.py'} <= set(_imports(str(path)))


def test_importing_every_library_module_loads_nothing_of_the_lab():
    code = ('import importlib, pkgutil, sys, lavit_mm\n'
            'for m in pkgutil.walk_packages(lavit_mm.__path__, "lavit_mm."):\n'
            '    importlib.import_module(m.name)\n'
            'print(sorted(n for n in sys.modules if n.startswith("lavit_mm_lab")))\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert out.strip() == '[]'
