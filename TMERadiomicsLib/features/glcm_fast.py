"""GLCM steps of PyRadiomics without its per-grey-level Python loops (issue 23).

``RadiomicsGLCM._calculateCoefficients`` builds the sum and difference
distributions p_{x+y} and p_{x-y} with one boolean mask over the whole matrix per
value of k (2 N_g - 1 and N_g masks), and ``getMCCFeatureValue`` builds Q one
grey level at a time as an (N_v, N_g, N_g, N_a) array. With ``binWidth: 5`` on a
normalised image (han2024) N_g is in the hundreds, and those loops took most of
a case's time. Here p_{x+y} and p_{x-y} come from one ``bincount`` over the
matrix, and Q = A P^T per angle (A = p(i, k) / (p_x(i) p_y(k) + eps), PyRadiomics'
own terms) is one matrix product; the eigenvalues are then taken by the same
``numpy.linalg.eigvals`` call as PyRadiomics'. Cluster prominence and shade,
sums of (i + j - mu_x - mu_y)^n p(i, j) over the whole matrix, are the same sums
over p_{x+y}, whose index k is i + j. Every other coefficient is the same
expression as PyRadiomics'. ``Testing/test_features_glcm.py`` holds every
GLCM feature to PyRadiomics' class within 1e-10 relative.
"""

from __future__ import annotations

import numpy as np


def calculate_glcm_coefficients(self) -> None:
    """``RadiomicsGLCM._calculateCoefficients``, with p_{x+y} and p_{x-y} from one bincount each."""
    self.logger.debug("Calculating GLCM coefficients")
    ng = self.coefficients["Ng"]
    eps = np.spacing(1)
    levels = self.coefficients["grayLevels"].astype("float")
    i, j = np.meshgrid(levels, levels, indexing="ij", sparse=True)
    matrix = self.P_glcm
    self.coefficients.update({
        "eps": eps, "i": i, "j": j,
        "kValuesSum": np.arange(2, (ng * 2) + 1, dtype="float"),
        "kValuesDiff": np.arange(0, ng, dtype="float"),
        "px": matrix.sum(2, keepdims=True),  # (Nv, Ng, 1, angles)
        "py": matrix.sum(1, keepdims=True),  # (Nv, 1, Ng, angles)
        "ux": np.sum(i[None, :, :, None] * matrix, (1, 2), keepdims=True),
        "uy": np.sum(j[None, :, :, None] * matrix, (1, 2), keepdims=True),
        # p_{x+y}(k), k = 2 .. 2 Ng, and p_{x-y}(k), k = 0 .. Ng - 1: (Nv, k, angles)
        "pxAddy": _sums_by_code(matrix, (i + j).astype(np.intp) - 2, 2 * ng - 1),
        "pxSuby": _sums_by_code(matrix, np.abs(i - j).astype(np.intp), ng),
        "HXY": (-1) * np.sum(matrix * np.log2(matrix + eps), (1, 2)),
    })


def _sums_by_code(matrix: np.ndarray, codes: np.ndarray, length: int) -> np.ndarray:
    """For each (Nv, angle) slice, the sum of p(i, j) over the cells whose code is k, for k < ``length``."""
    nv, rows, columns, angles = matrix.shape
    flat_codes = np.broadcast_to(codes, (rows, columns)).ravel()
    slices = matrix.transpose(0, 3, 1, 2).reshape(nv * angles, rows * columns)
    # One bincount over every slice: slice s's codes are shifted by s * length.
    shifted = (flat_codes[None, :] + length * np.arange(nv * angles)[:, None]).ravel()
    sums = np.bincount(shifted, weights=slices.ravel(), minlength=nv * angles * length)
    return sums.reshape(nv, angles, length).transpose(0, 2, 1)


def glcm_mcc(self):
    """``RadiomicsGLCM.getMCCFeatureValue``: Q(i, j) = sum_k p(i, k) p(j, k) / (p_x(i) p_y(k) + eps) as A P^T."""
    px = self.coefficients["px"]
    py = self.coefficients["py"]
    eps = self.coefficients["eps"]
    matrix = self.P_glcm
    weighted = matrix / (px * py + eps)  # A(i, k); px broadcasts over k, py over i
    q = np.matmul(weighted.transpose(0, 3, 1, 2), matrix.transpose(0, 3, 2, 1))  # (Nv, angles, i, j)
    eigenvalues = np.linalg.eigvals(q)
    eigenvalues.sort()  # along the last axis, low to high, as PyRadiomics sorts them
    if eigenvalues.shape[2] < 2:
        return 1  # a flat region: PyRadiomics' value
    return np.nanmean(np.sqrt(eigenvalues[:, :, -2]), 1).real


def _cluster_moment(self, power: int):
    """sum_ij (i + j - ux - uy)^power p(i, j), taken over p_{x+y}: i + j is k there, so one term per k."""
    k = self.coefficients["kValuesSum"]
    centre = (self.coefficients["ux"] + self.coefficients["uy"])[:, 0]  # (Nv, 1, angles)
    moment = np.sum(((k[None, :, None] - centre) ** power) * self.coefficients["pxAddy"], 1)
    return np.nanmean(moment, 1)


def glcm_cluster_prominence(self):
    """``RadiomicsGLCM.getClusterProminenceFeatureValue`` over p_{x+y} rather than the whole matrix."""
    return _cluster_moment(self, 4)


def glcm_cluster_shade(self):
    """``RadiomicsGLCM.getClusterShadeFeatureValue`` over p_{x+y} rather than the whole matrix."""
    return _cluster_moment(self, 3)
