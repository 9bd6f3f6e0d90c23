"""A test set through `answer()`: the format (`testset`), metrics (`metrics`),
one run's scores (`scoring`), binding it to an index (`evaluate`), reports
and exports (`report`), and the claim set (`claimset`).
"""
