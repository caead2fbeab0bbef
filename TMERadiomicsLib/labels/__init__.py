"""Labels from RNA-seq and survival: the targets the radiomics models learn.

- ``expression``: reading expression/signature matrices and GMT files, with
  the duplicated-gene rule;
- ``cibersort``: CIBERSORT v1.04 deconvolution on a user-supplied signature;
- ``ssgsea``: GSVA's single-sample GSEA;
- ``phenotypes``: median split (Qian) and k-means hot/cold (Han);
- ``survival``: Cox regression, Kaplan-Meier with log-rank, cut-offs;
- ``correlation``: Spearman correlation of features with abundances;
- ``tables``: the case-keyed CSV tables these read and write.

See ``docs/labels.md`` for the methods and every choice made to match R.
"""
