"""Grading: answer extraction (``extract``), math equivalence through math-verify
(``math``) and a confined subprocess for model-written code (``code``).

Submodules are imported directly (``from workbench.grading.extract import ...``) so that
importing one never pays for another (math-verify pulls sympy).
"""
