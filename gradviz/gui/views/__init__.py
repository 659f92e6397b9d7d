"""The window's views (see base.View for the contract); ALL_VIEWS in their docking order."""
from .base import Appearance, View
from .compare import CompareView
from .gates import GatesView
from .gradient_flow import GradientFlowView
from .jacobian_map import JacobianMapView
from .jacobian_step import JacobianStepView
from .states import StatesView
from .step_factors import StepFactorsView

ALL_VIEWS = [StatesView, GatesView, GradientFlowView, JacobianMapView, StepFactorsView,
             JacobianStepView]

__all__ = ["ALL_VIEWS", "Appearance", "CompareView", "GatesView", "GradientFlowView",
           "JacobianMapView", "JacobianStepView", "StatesView", "StepFactorsView", "View"]
