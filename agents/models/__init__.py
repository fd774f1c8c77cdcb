from agents.models.agent import Agent, AgentVersion
from agents.models.pricing import ModelPrice
from agents.models.session import Session, Step, Task
from agents.models.tool import Tool

__all__ = ["Agent", "AgentVersion", "ModelPrice", "Session", "Step", "Task", "Tool"]
