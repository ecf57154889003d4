"""Xiangzhu's running application: configuration, CLI, dispatcher, channels, web."""
