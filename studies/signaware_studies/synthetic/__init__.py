"""Synthetic protocols for signed SAEs, built on SAELens's synthetic module.

* ``polarity_dial.run_polarity_dial``: MSE vs L0 and calibration slopes as the
  sign asymmetry ``P(+)`` and the within-pair correlation ``rho`` move.
* ``anomalies.run_anomalies``: AUROC of rare-sign anomaly detection with at most
  ``k`` latents.
* ``antipodal.run_antipodal``: how often one latent holds both signs of an
  antipodal pair, against ``2K/d`` and ``rho``.

``signaware_studies.commands.synthetic`` is the command
(``sae-signaware synthetic ...``).
"""
