"""What several studies share: the cell parts their claims read (``cell_parts``), the singular
subspaces of a model's input Jacobian (``singular_subspaces``) and the heatmap of rates the
transfer studies draw (``heatmap``). Any study package may import it; it imports no study."""
